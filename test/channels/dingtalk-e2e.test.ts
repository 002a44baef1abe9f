/**
 * DingTalk end to end through the real product: `ngb serve` (the compiled binary when fresh) with
 * the DingTalk channel pointed at the fake DingTalk, the real docker engine and `ngb-agent` image
 * running the real agent against the fake Anthropic API. A group message at the fake is stored
 * and discovered, the chat is registered with the CLI, an @-message gets the agent's reply
 * through the session webhook, `ngb send` reaches a 1:1 chat that never wrote (OpenAPI), and
 * `ngb doctor` verifies the credentials. Skipped (saying why) without an engine or the image.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseBinary, serveEnv, startServe, TOKEN } from "../e2e/serve-rig.ts";
import { type FakeAnthropic, scripts, startFakeAnthropic } from "../fakes/anthropic.ts";
import { createFakeDingTalk, type FakeDingTalk } from "../fakes/dingtalk.ts";
import { agentImageAvailable } from "../support/engine.ts";
import { runNgb, type ServeHandle } from "../support/ngb.ts";
import { until } from "../support/wait.ts";

const READY = await agentImageAvailable();
const binary = chooseBinary();
if (READY) process.stderr.write(`[dingtalk e2e] ngb: ${binary}\n`);

const CID = "cidE2eTeam==";
const JID = `dingtalk:group:${CID}`;

describe.skipIf(!READY)("dingtalk end to end (ngb serve + docker + ngb-agent + fake model)", () => {
  let dir: string;
  let model: FakeAnthropic;
  let dt: FakeDingTalk;
  let serve: ServeHandle;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ngb-e2e-dt-"));
    model = startFakeAnthropic({
      script: scripts.byPrompt(
        [{ when: "plain question", script: scripts.text("the dingtalk answer") }],
        scripts.text("fallback"),
      ),
    });
    dt = createFakeDingTalk({ disconnectCloseMs: 200 });
    env = serveEnv(dir, model, {
      NGB_CHANNELS_DINGTALK_ENABLED: "true",
      NGB_CHANNELS_DINGTALK_API_BASE_URL: dt.url,
      NGB_CHANNELS_DINGTALK_CLIENT_ID: dt.clientId,
      NGB_CHANNELS_DINGTALK_CLIENT_SECRET: dt.clientSecret,
    });
    serve = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
    env.NGB_WEB_PORT = new URL(serve.url).port;
  }, 60_000);

  afterAll(async () => {
    const code = await serve?.stop();
    if (code !== 0) process.stderr.write(`serve exited ${code}; log tail:\n${serve?.logs().slice(-3000)}\n`);
    await dt?.stop();
    await model?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("discovered → registered → @-message → agent reply through the session webhook", async () => {
    await until(() => dt.openSockets === 1, { what: "stream connected", timeoutMs: 15_000 });
    dt.pushRobotMessage({ chat: "group", conversationId: CID, conversationTitle: "E2E Team", text: "hello" });
    await until(() => dt.pendingCount === 0 && dt.acks.length === 1, { what: "first message acked" });
    const discovered = await runNgb(["groups", "list", "--discovered", "--json"], { cwd: dir, env });
    expect(discovered.code).toBe(0);
    expect(discovered.stdout).toContain(JID);
    expect(discovered.stdout).toContain("E2E Team");
    const add = await runNgb(["groups", "add", JID, "--folder", "team"], { cwd: dir, env });
    expect(add.code).toBe(0);

    dt.pushRobotMessage({ chat: "group", conversationId: CID, text: "plain question" });
    await until(() => dt.sent.length >= 1, { what: "reply at the fake", timeoutMs: 90_000 }).catch((err) => {
      throw new Error(`${err.message}\nserve log tail:\n${serve.logs().slice(-4000)}`);
    });
    expect(dt.sent[0]).toMatchObject({ route: "webhook", to: CID, text: "the dingtalk answer" });
    expect(JSON.stringify(model.requests.at(-1)!.body.messages)).toContain("plain question");
    expect(serve.logs()).not.toContain(dt.clientSecret);
  }, 120_000);

  test("ngb send reaches a 1:1 chat that never wrote, through the OpenAPI; ngb doctor verifies", async () => {
    const sent = await runNgb(["send", "dingtalk:user:staff002", "hello from the CLI"], {
      cwd: dir,
      env: { ...env, NGB_WEB_TOKEN: TOKEN },
    });
    expect(sent.code).toBe(0);
    expect(dt.sent.at(-1)).toMatchObject({ route: "oto", to: "staff002", text: "hello from the CLI" });
    const doctor = await runNgb(["doctor", "--json"], { cwd: dir, env });
    const line = doctor.stdout.split("\n").find((l) => l.includes("channel dingtalk")) ?? doctor.stdout;
    expect(line).toContain("access token issued");
  }, 60_000);
});
