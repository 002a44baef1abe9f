/**
 * Feishu end to end, for real: `ngb serve` (the compiled binary when fresh) with the Feishu channel
 * enabled against the fake Feishu platform (long connection + Open API), the real docker engine and
 * `ngb-agent` image running the real Claude Agent SDK against the fake Anthropic API. A mention in
 * a thread gets the agent's reply in that thread; `ngb send`, `ngb doctor` and
 * `ngb groups list --discovered` see the channel. Skipped (saying why) without an engine or image.
 * Webhook mode: the event subscription route is served by `ngb serve` itself (no engine needed).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/index.ts";
import { type FakeAnthropic, scripts, startFakeAnthropic } from "../fakes/anthropic.ts";
import { createFakeFeishu, type FakeFeishu } from "../fakes/feishu.ts";
import { agentImageAvailable } from "../support/engine.ts";
import { runNgb, type ServeHandle } from "../support/ngb.ts";
import { outboxDrained } from "../support/settled.ts";
import { until } from "../support/wait.ts";
import { chooseBinary, serveEnv, startServe, TOKEN } from "./serve-rig.ts";

const READY = await agentImageAvailable();
const binary = chooseBinary();
if (READY) process.stderr.write(`[e2e feishu] ngb: ${binary}\n`);

describe.skipIf(!READY)("feishu end to end (binary + docker + ngb-agent + fake model + fake Feishu)", () => {
  let dir: string;
  let anthropic: FakeAnthropic;
  let feishu: FakeFeishu;
  let serve: ServeHandle;
  let env: Record<string, string>;
  const hadBin = process.env.NGB_BIN;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ngb-e2e-feishu-"));
    anthropic = startFakeAnthropic({ script: scripts.text("the feishu answer") });
    feishu = createFakeFeishu();
    env = serveEnv(dir, anthropic, {
      NGB_CHANNELS_FEISHU_ENABLED: "true",
      NGB_CHANNELS_FEISHU_BASE_URL: feishu.url,
      NGB_FEISHU_APP_ID: feishu.appId,
      NGB_FEISHU_APP_SECRET: feishu.appSecret,
    });
    // The CLI runs below use the same ngb as serve.
    if (existsSync(binary)) process.env.NGB_BIN = binary;
    const add = await runNgb(["groups", "add", "feishu:oc_e2e", "--folder", "team"], { cwd: dir, env });
    expect(add.code).toBe(0);
    serve = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
    await until(() => feishu.openSockets === 1, { timeoutMs: 20_000, what: "feishu long connection" });
  }, 90_000);

  afterAll(async () => {
    if (hadBin === undefined) delete process.env.NGB_BIN;
    else process.env.NGB_BIN = hadBin;
    const code = await serve?.stop();
    if (code !== 0) process.stderr.write(`serve exited ${code}; log tail:\n${serve?.logs().slice(-3000)}\n`);
    feishu?.stop();
    await anthropic?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a mention in a thread → the agent's reply in that thread, once", async () => {
    feishu.push(feishu.messageEvent({ chatId: "oc_e2e", text: "just chatting", messageId: "om_e1" }));
    const ev = feishu.push(
      feishu.messageEvent({
        chatId: "oc_e2e",
        text: "@_user_1 what do you say?",
        messageId: "om_e2",
        threadId: "omt_e",
        rootId: "om_eroot",
        mentions: [{ key: "@_user_1", openId: feishu.botOpenId, name: feishu.botName }],
      }),
    );
    await until(() => feishu.acked(ev), { timeoutMs: 10_000, what: "event acked" });
    await until(() => feishu.sent.length >= 1, { timeoutMs: 120_000, what: "reply at the fake" }).catch(
      (err) => {
        throw new Error(`${err.message}\nserve log tail:\n${serve.logs().slice(-4000)}`);
      },
    );
    expect(feishu.sent[0]).toMatchObject({
      reply_to: "om_eroot",
      reply_in_thread: true,
      text: "the feishu answer",
    });
    expect(JSON.stringify(anthropic.requests.at(-1)!.body.messages)).toContain("what do you say?");
    // Nothing left to send (the main-line chatter stays open, by design, as context).
    const live = openStore(join(dir, "store", "ngb.db"), { readonly: true });
    try {
      await until(() => outboxDrained(live), { what: "the outbox to drain", timeoutMs: 30_000 });
    } finally {
      live.close();
    }
    expect(feishu.sent).toHaveLength(1);
  }, 150_000);

  test("ngb send, doctor and groups list --discovered see the channel", async () => {
    // Through the running serve (the CLI finds it by --url: serve listens on port 0 here).
    const send = await runNgb(["send", "feishu:oc_e2e", "hello from the cli", "--url", serve.url], {
      cwd: dir,
      env,
    });
    expect(send.stderr + send.stdout).toContain("sent to feishu:oc_e2e");
    await until(() => feishu.sent.some((s) => s.text === "hello from the cli"), {
      timeoutMs: 10_000,
      what: "cli send",
    });

    feishu.push(feishu.messageEvent({ chatId: "oc_elsewhere", text: "hi", messageId: "om_x1" }));
    await until(
      async () => {
        const r = await runNgb(["groups", "list", "--discovered", "--json"], { cwd: dir, env });
        return r.stdout.includes("feishu:oc_elsewhere");
      },
      { timeoutMs: 15_000, what: "discovered chat" },
    );

    const doctor = await runNgb(["doctor"], { cwd: dir, env, timeoutMs: 60_000 });
    expect(doctor.stdout).toMatch(/channel feishu.*bot NGB Bot/);
  }, 90_000);
});

describe("feishu webhook mode through ngb serve", () => {
  test("the event subscription route is served outside the web token: challenge, signed event, forgery", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ngb-e2e-feishu-hook-"));
    const anthropic = startFakeAnthropic({ script: scripts.text("unused") });
    const feishu = createFakeFeishu();
    const hadBin = process.env.NGB_BIN;
    if (existsSync(binary)) process.env.NGB_BIN = binary;
    let serve: ServeHandle | undefined;
    try {
      const env = serveEnv(dir, anthropic, {
        NGB_CHANNELS_FEISHU_ENABLED: "true",
        NGB_CHANNELS_FEISHU_REGION: "lark",
        NGB_CHANNELS_FEISHU_BASE_URL: feishu.url,
        NGB_CHANNELS_FEISHU_MODE: "webhook",
        NGB_CHANNELS_FEISHU_VERIFICATION_TOKEN: feishu.verificationToken,
        NGB_CHANNELS_FEISHU_ENCRYPT_KEY: feishu.encryptKey,
        NGB_FEISHU_APP_ID: feishu.appId,
        NGB_FEISHU_APP_SECRET: feishu.appSecret,
      });
      serve = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
      const url = `${serve.url}/hooks/feishu`;
      const challenge = await feishu.urlVerification(url, "c-e2e");
      expect(await challenge.json()).toEqual({ challenge: "c-e2e" });
      const ok = await feishu.postEvent(url, feishu.messageEvent({ chatId: "oc_hooked", text: "via http" }));
      expect(ok.status).toBe(200);
      const forged = await feishu.postEvent(url, feishu.messageEvent({ chatId: "oc_forged", text: "x" }), {
        key: "not the key",
      });
      expect(forged.status).toBe(401);
      const chats = await runNgb(["groups", "list", "--discovered", "--json"], { cwd: dir, env });
      expect(chats.stdout).toContain("feishu:oc_hooked");
      expect(chats.stdout).not.toContain("feishu:oc_forged");
      const metrics = await fetch(`${serve.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(await metrics.text()).toContain(
        'ngb_public_requests_rejected_total{source="feishu",reason="bad_webhook_request"} 1',
      );
    } finally {
      if (hadBin === undefined) delete process.env.NGB_BIN;
      else process.env.NGB_BIN = hadBin;
      await serve?.stop();
      feishu.stop();
      await anthropic.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
