/**
 * WeCom and QQ end to end through the real product: `ngb serve` (the compiled binary when
 * fresh) with the channel pointed at its fake, the real docker engine and `ngb-agent` image
 * running the real agent against the fake Anthropic API.
 * - WeCom (AI-bot long connection): a group @-message is stored and discovered, the chat is
 *   registered with the CLI, the next @-message is answered on the callback's req_id as a
 *   stream; `ngb send` to a user goes out proactively; `ngb doctor` verifies the credentials.
 * - QQ (webhook on serve's public routes): the validation challenge is answered, a signed group
 *   @-message is stored, the registered chat gets a passive reply with msg_id + msg_seq; a
 *   scheduled task for the QQ chat is refused when created; `ngb send` to a chat nobody wrote in
 *   fails with QQ's rule. Skipped (saying why) without an engine or the image.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseBinary, serveEnv, startServe, TOKEN } from "../e2e/serve-rig.ts";
import { type FakeAnthropic, scripts, startFakeAnthropic } from "../fakes/anthropic.ts";
import { type FakeQq, startFakeQq } from "../fakes/qq.ts";
import { type FakeWecom, startFakeWecom } from "../fakes/wecom.ts";
import { agentImageAvailable } from "../support/engine.ts";
import { runNgb, type ServeHandle } from "../support/ngb.ts";
import { until } from "../support/wait.ts";

const READY = await agentImageAvailable();
const binary = chooseBinary();
if (READY) process.stderr.write(`[wecom/qq e2e] ngb: ${binary}\n`);

const WECOM_JID = "wecom:group:wrE2eTeam";
const QQ_GROUP = "0123456789ABCDEF0123456789ABCDEF";
const QQ_JID = `qq:group:${QQ_GROUP}`;

describe.skipIf(!READY)("wecom + qq end to end (ngb serve + docker + ngb-agent + fake model)", () => {
  let dir: string;
  let model: FakeAnthropic;
  let wc: FakeWecom;
  let qq: FakeQq;
  let serve: ServeHandle;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ngb-e2e-wq-"));
    model = startFakeAnthropic({
      script: scripts.byPrompt(
        [
          { when: "wecom question", script: scripts.text("the wecom answer") },
          { when: "qq question", script: scripts.text("the qq answer") },
        ],
        scripts.text("fallback"),
      ),
    });
    wc = startFakeWecom();
    qq = startFakeQq();
    env = serveEnv(dir, model, {
      NGB_CHANNELS_WECOM_ENABLED: "true",
      NGB_CHANNELS_WECOM_WS_URL: wc.wsUrl,
      NGB_CHANNELS_WECOM_BOT_ID: "bot-1",
      NGB_CHANNELS_WECOM_BOT_SECRET: "bot-secret-1",
      NGB_CHANNELS_WECOM_BOT_NAME: "RobotA",
      NGB_CHANNELS_QQ_ENABLED: "true",
      NGB_CHANNELS_QQ_APP_ID: qq.appId,
      NGB_CHANNELS_QQ_APP_SECRET: qq.secret,
      NGB_CHANNELS_QQ_API_BASE_URL: qq.url,
      NGB_CHANNELS_QQ_TOKEN_URL: qq.tokenUrl,
    });
    serve = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
    env.NGB_WEB_PORT = new URL(serve.url).port;
  }, 60_000);

  afterAll(async () => {
    const code = await serve?.stop();
    if (code !== 0) process.stderr.write(`serve exited ${code}; log tail:\n${serve?.logs().slice(-3000)}\n`);
    await wc?.stop();
    await qq?.stop();
    await model?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const failWithLogs = (err: Error) => {
    throw new Error(`${err.message}\nserve log tail:\n${serve.logs().slice(-4000)}`);
  };

  test("wecom: discovered → registered → @-message → agent reply as a stream on the req_id; ngb send; doctor", async () => {
    await until(() => wc.openConnections() === 1, { what: "wecom subscribed", timeoutMs: 15_000 });
    wc.pushMessage({ chattype: "group", chatid: "wrE2eTeam", userid: "zhangsan", text: "@RobotA hello" });
    await until(
      async () =>
        (await runNgb(["groups", "list", "--discovered", "--json"], { cwd: dir, env })).stdout.includes(
          WECOM_JID,
        ),
      { what: "wecom chat discovered" },
    );
    expect(
      (await runNgb(["groups", "add", WECOM_JID, "--folder", "wecomteam"], { cwd: dir, env })).code,
    ).toBe(0);
    const { reqId } = wc.pushMessage({
      chattype: "group",
      chatid: "wrE2eTeam",
      userid: "zhangsan",
      text: "@RobotA wecom question",
    });
    await until(() => wc.streams.some((s) => s.reqId === reqId && s.finished), {
      what: "stream reply",
      timeoutMs: 90_000,
    }).catch(failWithLogs);
    expect(wc.streams.find((s) => s.reqId === reqId)!.content).toBe("the wecom answer");
    const sent = await runNgb(["send", "wecom:user:lisi", "hello from the CLI"], {
      cwd: dir,
      env: { ...env, NGB_WEB_TOKEN: TOKEN },
    });
    expect(sent.code).toBe(0);
    expect(wc.proactive.at(-1)).toEqual({
      chatid: "lisi",
      content: "hello from the CLI",
      msgtype: "markdown",
    });
    expect(serve.logs()).not.toContain("bot-secret-1");
  }, 150_000);

  test("qq: validation, signed @-message → agent → passive reply; tasks refused; ngb send explains the rule", async () => {
    const hook = `${serve.url}/hooks/qq`;
    const v = await qq.validate(hook, "Arq0D5A61EgUu4OxUvOp", "1725442341");
    expect(v.valid).toBe(true);
    const first = qq.userMessage("group", QQ_GROUP, "hello");
    expect((await qq.postEvent(hook, { id: "e1", op: 0, t: first.t, d: first.d })).status).toBe(200);
    expect((await runNgb(["groups", "add", QQ_JID, "--folder", "qqteam"], { cwd: dir, env })).code).toBe(0);
    const ev = qq.userMessage("group", QQ_GROUP, "qq question");
    expect((await qq.postEvent(hook, { id: "e2", op: 0, t: ev.t, d: ev.d })).status).toBe(200);
    await until(() => qq.sent.length >= 1, { what: "qq reply", timeoutMs: 90_000 }).catch(failWithLogs);
    expect(qq.sent[0]).toMatchObject({
      kind: "group",
      target: QQ_GROUP,
      body: { content: "the qq answer", msg_id: ev.d.id, msg_seq: 1 },
    });

    const task = await runNgb(["tasks", "add", "--group", "qqteam", "--every", "1h", "--prompt", "digest"], {
      cwd: dir,
      env,
    });
    expect(task.code).toBe(1);
    expect(task.stdout + task.stderr).toContain("2025-04-21");

    const send = await runNgb(["send", "qq:c2c:FEDCBA9876543210FEDCBA9876543210", "hi"], {
      cwd: dir,
      env: { ...env, NGB_WEB_TOKEN: TOKEN },
    });
    expect(send.code).not.toBe(0);
    expect(send.stdout + send.stderr).toContain("QQ only accepts replies");
    // A forged push is refused, logged without the secret, and counted by reason.
    const forged = qq.userMessage("group", QQ_GROUP, "forged");
    expect(
      (await qq.postEvent(hook, { id: "e3", op: 0, t: forged.t, d: forged.d }, { forge: true })).status,
    ).toBe(401);
    const status = (await (
      await fetch(`${serve.url}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as {
      channels: { name: string; rejected?: Record<string, number> }[];
    };
    expect(status.channels.find((c) => c.name === "qq")?.rejected).toMatchObject({ bad_signature: 1 });
    expect(serve.logs()).toContain("qq webhook refused: signature does not verify");
    expect(serve.logs()).not.toContain(qq.secret);
    const doctor = await runNgb(["doctor", "--json"], { cwd: dir, env });
    expect(doctor.stdout).toContain("access token issued");
    expect(doctor.stdout).toContain("subscribe accepted");
  }, 150_000);
});
