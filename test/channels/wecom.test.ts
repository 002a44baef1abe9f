/**
 * WeCom against the wire-faithful fake (test/fakes/wecom.ts): AI-bot receive → store → agent →
 * stream reply, late replies sent proactively, chunking by bytes, a dropped connection with
 * nothing lost or duplicated, a takeover by another connection, bad frames; the self-built app's
 * encrypted callback (official @wecom/crypto on the fake's side), forged signatures, undecryptable
 * bodies, token expiry mid-run.
 */
import { afterEach, expect, test } from "bun:test";
import { createWecomChannel, type WecomChannel, type WecomConfig } from "../../src/channels/wecom/channel.ts";
import { systemClock } from "../../src/channels/kit/clock.ts";
import { silentLogger } from "../../src/log/index.ts";
import { startFakeWecom, type FakeWecom } from "../fakes/wecom.ts";
import {
  createLoopRig,
  createStoreSink,
  type LoopRig,
  type StoreSink,
  storedIds,
  waitFor,
} from "./support.ts";

let fake: FakeWecom | undefined;
let ch: WecomChannel | undefined;
let sink: StoreSink | undefined;
let rig: LoopRig | undefined;

afterEach(async () => {
  await ch?.disconnect();
  await rig?.stop();
  sink?.close();
  await fake?.stop();
  fake = ch = sink = rig = undefined;
});

const AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const TOKEN = "QDG6eK";

function aibotConfig(f: FakeWecom, extra: Partial<WecomConfig> = {}): WecomConfig {
  return {
    mode: "aibot",
    wsUrl: f.wsUrl,
    botId: "bot-1",
    botSecret: "bot-secret-1",
    botName: "RobotA",
    apiBaseUrl: f.url,
    webhookPath: "/hooks/wecom",
    workingText: "…",
    ...extra,
  };
}

function appConfig(f: FakeWecom): WecomConfig {
  return {
    mode: "app",
    wsUrl: "ws://unused",
    apiBaseUrl: f.url,
    corpId: "ww0123456789abcdef",
    corpSecret: "corp-secret-xyz",
    agentId: 1000002,
    token: TOKEN,
    encodingAesKey: AES_KEY,
    webhookPath: "/hooks/wecom",
    workingText: "…",
  };
}

function make(config: WecomConfig, extra: Partial<Parameters<typeof createWecomChannel>[0]> = {}) {
  return createWecomChannel({
    config,
    assistantName: "Andy",
    log: silentLogger(),
    fetch,
    clock: systemClock,
    backoff: { initialMs: 20, maxMs: 100, jitter: 0 },
    ...extra,
  });
}

test("aibot: group @message → store → agent → one stream reply answering its req_id", async () => {
  fake = startFakeWecom();
  const f = fake;
  const jid = "wecom:group:wrgroup1";
  rig = createLoopRig({
    prefix: "ngb-wecom-",
    jid,
    respond: (t) => [
      {
        status: "success",
        result: `**echo**: ${t.text.includes("hello robot") ? "hi" : "?"}`,
        newSessionId: "s",
      },
    ],
    channel: () => make(aibotConfig(f)),
  });
  await rig.orch.start();
  await waitFor(() => rig!.channel.health().state === "connected", "connected");
  const { reqId, msgid } = f.pushMessage({
    chattype: "group",
    chatid: "wrgroup1",
    userid: "zhangsan",
    text: "@RobotA hello robot",
  });
  await waitFor(() => f.streams.some((s) => s.finished), "finished stream");
  const s = f.streams[0]!;
  expect(s.reqId).toBe(reqId);
  expect(s.content).toBe("**echo**: hi");
  // Opened with the working text, then finished with the answer: ≥ 2 frames on one stream id.
  expect(s.frames).toBeGreaterThanOrEqual(2);
  expect(f.proactive).toEqual([]);
  const stored = rig.store.messages.since(jid, 0, 10);
  expect(stored[0]!.id).toBe(msgid);
  expect(stored[0]!.content).toBe("@Andy hello robot");
});

test("aibot: 1:1 message, a reply past the window goes proactive; long replies split by bytes", async () => {
  let t = 1_000_000;
  fake = startFakeWecom({ now: () => t });
  sink = createStoreSink("ngb-wecom-", "wecom");
  ch = make(aibotConfig(fake), { clock: { now: () => t, sleep: systemClock.sleep } });
  await ch.connect(sink);
  const { msgid } = fake.pushMessage({ userid: "lisi", text: "hi" });
  await waitFor(() => storedIds(sink!.store, "wecom:user:lisi").length === 1, "stored");
  // Within the window: stream.
  const long = "这是一段很长的中文回复。".repeat(1000); // ~36 KB in UTF-8: two chunks
  await ch.send("wecom:user:lisi", long, { replyToId: msgid });
  expect(ch.lastRoutes).toEqual(["stream", "proactive"]);
  for (const s of fake.streams) expect(Buffer.byteLength(s.content)).toBeLessThanOrEqual(20_480);
  expect(fake.streams[0]!.content + fake.proactive[0]!.content).toBe(long.replace(/\s+$/, ""));
  // A second message, answered after 7 minutes: proactive to the user id.
  const second = fake.pushMessage({ userid: "lisi", text: "later?" });
  await waitFor(() => storedIds(sink!.store, "wecom:user:lisi").length === 2, "stored 2");
  t += 7 * 60_000;
  await ch.send("wecom:user:lisi", "late answer", { replyToId: second.msgid });
  expect(ch.lastRoutes).toEqual(["proactive"]);
  expect(fake.proactive.at(-1)).toEqual({ chatid: "lisi", content: "late answer", msgtype: "markdown" });
});

test("aibot: a dropped connection reconnects; nothing lost, a redelivered msgid stored once", async () => {
  fake = startFakeWecom();
  sink = createStoreSink("ngb-wecom-", "wecom");
  ch = make(aibotConfig(fake));
  await ch.connect(sink);
  fake.pushMessage({ userid: "u1", text: "one", msgid: "m1" });
  await waitFor(() => storedIds(sink!.store, "wecom:user:u1").length === 1, "first");
  fake.drop();
  await waitFor(() => fake!.subscribes.length === 2 && fake!.openConnections() === 1, "resubscribed");
  fake.pushMessage({ userid: "u1", text: "one again", msgid: "m1" });
  fake.pushMessage({ userid: "u1", text: "two", msgid: "m2" });
  await waitFor(() => storedIds(sink!.store, "wecom:user:u1").length === 2, "second");
  expect(storedIds(sink.store, "wecom:user:u1")).toEqual(["m1", "m2"]);
  expect(ch.health().rejected.duplicate).toBe(1);
});

test("aibot: a silent server is detected by missed pings and the client reconnects", async () => {
  fake = startFakeWecom();
  sink = createStoreSink("ngb-wecom-", "wecom");
  ch = make(aibotConfig(fake), { heartbeatMs: 30 });
  await ch.connect(sink);
  fake.silencePings(true);
  await waitFor(() => fake!.subscribes.length >= 2, "reconnect after missed pings", 5_000);
  fake.silencePings(false);
  await waitFor(() => ch!.health().state === "connected", "connected again");
});

test("aibot: wrong secret fails connect with an auth error and no secret in it", async () => {
  fake = startFakeWecom();
  sink = createStoreSink("ngb-wecom-", "wecom");
  ch = make(aibotConfig(fake, { botSecret: "wrong-secret-value" }));
  const err = await ch.connect(sink).catch((e) => e);
  expect(err.kind).toBe("auth");
  expect(err.message).not.toContain("wrong-secret-value");
  expect((await ch.verify!()).ok).toBe(false);
});

test("aibot: bad frames, unknown cmds and events, invalid bodies are counted and the connection carries on", async () => {
  fake = startFakeWecom();
  sink = createStoreSink("ngb-wecom-", "wecom");
  ch = make(aibotConfig(fake));
  await ch.connect(sink);
  fake.pushRaw("{not json");
  fake.pushRaw(JSON.stringify({ cmd: "aibot_bogus", headers: { req_id: "x" } }));
  fake.pushRaw("x".repeat(2 * 1024 * 1024));
  fake.pushMessage({ userid: "u1", body: { msgid: "", chattype: "single", from: {} } });
  fake.pushEvent("bot-1", { eventtype: "strange_event" });
  fake.pushMessage({ userid: "u1", text: "still fine", msgid: "ok1" });
  await waitFor(() => storedIds(sink!.store, "wecom:user:u1").length === 1, "good message after bad ones");
  expect(ch.health().rejected).toMatchObject({
    bad_frame: 1,
    unknown_cmd: 1,
    oversized_frame: 1,
    bad_message: 1,
    unknown_event: 1,
  });
  expect(fake.subscribes.length).toBe(1);
});

test("aibot: another connection taking over is noticed; a second takeover stops the client", async () => {
  fake = startFakeWecom();
  sink = createStoreSink("ngb-wecom-", "wecom");
  ch = make(aibotConfig(fake), { kickedRetryMs: 30 });
  await ch.connect(sink);
  const other = make(aibotConfig(fake), { kickedRetryMs: 30 });
  const otherSink = createStoreSink("ngb-wecom-o-", "wecom");
  try {
    await other.connect(otherSink); // kicks ch; ch comes back after 30 ms and kicks `other`
    await waitFor(() => ch!.health().lastError?.includes("took over") === true, "takeover noticed");
    await waitFor(() => other.health().lastError?.includes("took over") === true, "other kicked back");
    await waitFor(
      () =>
        (ch!.health().lastError ?? "").includes("keeps taking over") ||
        (other.health().lastError ?? "").includes("keeps taking over"),
      "one gives up",
      5_000,
    );
  } finally {
    await other.disconnect();
    otherSink.close();
  }
});

test("app: URL verification, encrypted message stored, reply via message/send; token expiry mid-run refreshes once", async () => {
  fake = startFakeWecom();
  sink = createStoreSink("ngb-wecom-", "wecom");
  ch = make(appConfig(fake));
  await ch.connect(sink);
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => ch!.webhooks!.fetch(req) });
  try {
    const url = `http://127.0.0.1:${server.port}/hooks/wecom`;
    const v = await fake.verifyUrl(url, { token: TOKEN, aesKey: AES_KEY, echo: "1616140317555161061" });
    expect(v.status).toBe(200);
    expect(await v.text()).toBe("1616140317555161061");
    const fields = {
      ToUserName: "ww0123456789abcdef",
      FromUserName: "wangwu",
      CreateTime: "1700000000",
      MsgType: "text",
      Content: "你好 <b>&",
      MsgId: "1234567890123456",
      AgentID: "1000002",
    };
    const r = await fake.postCallback(url, fields, { token: TOKEN, aesKey: AES_KEY });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("");
    const again = await fake.postCallback(url, fields, { token: TOKEN, aesKey: AES_KEY }); // WeCom's retry
    expect(again.status).toBe(200);
    const msgs = sink.store.messages.since("wecom:user:wangwu", 0, 10);
    expect(msgs.map((m) => m.content)).toEqual(["你好 <b>&"]);
    await ch.send("wecom:user:wangwu", "第一");
    fake.expireTokens();
    await ch.send("wecom:user:wangwu", "x".repeat(3000)); // two chunks of ≤ 2048 bytes, after a refresh
    expect(fake.appMessages.map((m) => m.content.length)).toEqual([2, 2048, 952]);
    expect(fake.tokensIssued).toBe(2);
    const group = await ch.send("wecom:group:abc", "no").catch((e) => e);
    expect(group.kind).toBe("refused");
  } finally {
    server.stop(true);
  }
});

test("app: forged signatures, foreign corp ids, garbage and oversized bodies are refused and counted", async () => {
  fake = startFakeWecom();
  sink = createStoreSink("ngb-wecom-", "wecom");
  ch = make(appConfig(fake));
  await ch.connect(sink);
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => ch!.webhooks!.fetch(req) });
  try {
    const url = `http://127.0.0.1:${server.port}/hooks/wecom`;
    const fields = {
      ToUserName: "ww0123456789abcdef",
      FromUserName: "u",
      CreateTime: "1700000000",
      MsgType: "text",
      Content: "x",
      MsgId: "1",
    };
    expect(
      (await fake.postCallback(url, fields, { token: TOKEN, aesKey: AES_KEY, forgeSignature: true })).status,
    ).toBe(403);
    expect(
      (await fake.postCallback(url, fields, { token: TOKEN, aesKey: AES_KEY, receiveId: "wwOTHERCORP" }))
        .status,
    ).toBe(400);
    const other = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    expect((await fake.postCallback(url, fields, { token: TOKEN, aesKey: other })).status).toBe(400);
    const old = String(Math.floor(Date.now() / 1000) - 86_400);
    expect(
      (await fake.postCallback(url, fields, { token: TOKEN, aesKey: AES_KEY, timestamp: old })).status,
    ).toBe(400);
    const q = "?msg_signature=a&timestamp=" + Math.floor(Date.now() / 1000) + "&nonce=1";
    expect((await fetch(url + q, { method: "POST", body: "not xml" })).status).toBe(400);
    expect((await fetch(url + q, { method: "POST", body: "x".repeat(300_000) })).status).toBe(413);
    expect(storedIds(sink.store, "wecom:user:u")).toEqual([]);
    const rejected = ch.health().rejected;
    expect(rejected.bad_signature).toBe(1);
    expect(rejected.bad_receiveid).toBe(1);
    expect(
      (rejected.bad_padding ?? 0) + (rejected.bad_receiveid ?? 0) + (rejected.bad_length ?? 0),
    ).toBeGreaterThanOrEqual(2);
    expect(rejected.oversized).toBe(1);
  } finally {
    server.stop(true);
  }
});

test("aibot: a failing store is retried in place (WeCom never pushes an AI-bot message again)", async () => {
  fake = startFakeWecom();
  sink = createStoreSink("ngb-wecom-", "wecom");
  ch = make(aibotConfig(fake));
  await ch.connect(sink);
  sink.failNext(2);
  fake.pushMessage({ userid: "u9", text: "keep me", msgid: "keep1" });
  await waitFor(() => storedIds(sink!.store, "wecom:user:u9").length === 1, "stored after retries");
  expect(sink.inboundCalls.filter((m) => m.id === "keep1")).toHaveLength(3);
});

test("aibot: the working stream survives the end of the run until the reply arrives; closed empty when none does", async () => {
  fake = startFakeWecom();
  sink = createStoreSink("ngb-wecom-", "wecom");
  ch = make(aibotConfig(fake), { streamGraceMs: 100 });
  await ch.connect(sink);
  const a = fake.pushMessage({ userid: "u1", text: "q1" });
  await waitFor(() => storedIds(sink!.store, "wecom:user:u1").length === 1, "stored");
  await ch.setTyping!("wecom:user:u1", true);
  await ch.setTyping!("wecom:user:u1", false); // the run ended; delivery comes a moment later
  await ch.send("wecom:user:u1", "the answer", { replyToId: a.msgid });
  expect(ch.lastRoutes).toEqual(["stream"]);
  expect(fake.streams[0]).toMatchObject({ reqId: a.reqId, content: "the answer", finished: true, frames: 2 });
  const b = fake.pushMessage({ userid: "u1", text: "q2" });
  await waitFor(() => storedIds(sink!.store, "wecom:user:u1").length === 2, "stored 2");
  await ch.setTyping!("wecom:user:u1", true);
  await ch.setTyping!("wecom:user:u1", false); // no reply at all
  await waitFor(
    () => fake!.streams.some((s) => s.reqId === b.reqId && s.finished),
    "closed after the grace period",
  );
  expect(fake.streams.find((s) => s.reqId === b.reqId)!.content).toBe("");
});
