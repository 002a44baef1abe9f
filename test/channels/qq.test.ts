/**
 * QQ against the wire-faithful fake (test/fakes/qq.ts): webhook validation (the bot-docs vector)
 * and signed pushes → store → agent → passive reply with msg_id + msg_seq; chunking; the reply
 * window and per-message reply count as permanent refusals that explain QQ's rule; forged,
 * replayed and malformed pushes; the gateway's identify/resume with nothing lost or duplicated,
 * op 7, an invalid-session loop that backs off; token expiry mid-run.
 */
import { afterEach, expect, test } from "bun:test";
import { systemClock } from "../../src/channels/kit/clock.ts";
import { isPermanentChannelError } from "../../src/channels/kit/errors.ts";
import { createQqChannel, type QqChannel, type QqConfig } from "../../src/channels/qq/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { type FakeQq, startFakeQq } from "../fakes/qq.ts";
import {
  createLoopRig,
  createStoreSink,
  type LoopRig,
  type StoreSink,
  storedIds,
  waitFor,
} from "./support.ts";

let fake: FakeQq | undefined;
let ch: QqChannel | undefined;
let sink: StoreSink | undefined;
let rig: LoopRig | undefined;
let server: ReturnType<typeof Bun.serve> | undefined;

afterEach(async () => {
  await ch?.disconnect();
  await rig?.stop();
  sink?.close();
  server?.stop(true);
  await fake?.stop();
  fake = ch = sink = rig = server = undefined;
});

const GROUP = "0123456789ABCDEF0123456789ABCDEF";
const USER = "FEDCBA9876543210FEDCBA9876543210";

function cfg(f: FakeQq, mode: QqConfig["mode"]): QqConfig {
  return {
    mode,
    appId: f.appId,
    appSecret: f.secret,
    apiBaseUrl: f.url,
    tokenUrl: f.tokenUrl,
    webhookPath: "/hooks/qq",
    intents: (1 << 25) | (1 << 30) | (1 << 12),
    markdown: false,
  };
}

function make(config: QqConfig, extra: Partial<Parameters<typeof createQqChannel>[0]> = {}) {
  return createQqChannel({
    config,
    assistantName: "Andy",
    log: silentLogger(),
    fetch,
    clock: systemClock,
    backoff: { initialMs: 20, maxMs: 200, jitter: 0 },
    ...extra,
  });
}

function serve(c: QqChannel): string {
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => c.webhooks!.fetch(req) });
  return `http://127.0.0.1:${server.port}/hooks/qq`;
}

test("webhook validation answers the bot-docs vector (secret DG5g3B4j9X2KOErG)", async () => {
  fake = startFakeQq({ secret: "DG5g3B4j9X2KOErG" });
  sink = createStoreSink("ngb-qq-", "qq");
  ch = make(cfg(fake, "webhook"));
  await ch.connect(sink);
  const url = serve(ch);
  const r = await fake.validate(url, "Arq0D5A61EgUu4OxUvOp", "1725442341");
  expect(r.status).toBe(200);
  expect(r.valid).toBe(true);
  expect(r.body).toEqual({
    plain_token: "Arq0D5A61EgUu4OxUvOp",
    signature:
      "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d01bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706",
  });
  // The validation route never signs something shaped like "timestamp + JSON body".
  const oracle = await fake.validate(url, '{"op":0,"t":"C2C_MESSAGE_CREATE"}', "1725442341");
  expect(oracle.status).toBe(400);
});

test("webhook: group @message → store → agent → passive reply with msg_id and msg_seq; long replies chunked", async () => {
  fake = startFakeQq();
  const f = fake;
  const jid = `qq:group:${GROUP}`;
  rig = createLoopRig({
    prefix: "ngb-qq-",
    jid,
    respond: (t) => [
      {
        status: "success",
        result: t.text.includes("long please") ? "段落。".repeat(1000) : "pong",
        newSessionId: "s",
      },
    ],
    channel: () => make(cfg(f, "webhook")),
  });
  await rig.orch.start();
  const url = serve(rig.channel as QqChannel);
  const ev = f.userMessage("group", GROUP, "ping");
  const res = await f.postEvent(url, { id: "ev-1", op: 0, s: 1, t: ev.t, d: ev.d });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ op: 12, d: 0 });
  await waitFor(() => f.sent.length === 1, "reply");
  expect(f.sent[0]).toMatchObject({
    kind: "group",
    target: GROUP,
    body: { content: "pong", msg_type: 0, msg_id: ev.d.id, msg_seq: 1 },
  });
  expect(rig.store.messages.since(jid, 0, 10)[0]!.content).toBe("@Andy ping");
  const ev2 = f.userMessage("group", GROUP, "long please");
  await f.postEvent(url, { id: "ev-2", op: 0, s: 2, t: ev2.t, d: ev2.d });
  await waitFor(() => f.sent.length === 3, "two chunks");
  const chunks = f.sent.slice(1);
  expect(chunks.map((s) => s.body.msg_seq)).toEqual([1, 2]);
  expect(chunks.every((s) => s.body.msg_id === ev2.d.id)).toBe(true);
  expect(chunks.every((s) => String(s.body.content).length <= 1800)).toBe(true);
  expect(chunks.map((s) => s.body.content).join("")).toBe("段落。".repeat(1000));
});

test("the reply window: past it, or past 5 replies, a send is a permanent refusal that explains QQ's rule", async () => {
  let t = Date.UTC(2026, 0, 5, 8);
  fake = startFakeQq({ now: () => t });
  sink = createStoreSink("ngb-qq-", "qq");
  ch = make(cfg(fake, "webhook"), { clock: { now: () => t, sleep: systemClock.sleep } });
  await ch.connect(sink);
  const url = serve(ch);
  const jid = `qq:c2c:${USER}`;
  // Nobody wrote yet: nothing to reply to.
  const none = await ch.send(jid, "hello?").catch((e) => e);
  expect(none.kind).toBe("refused");
  expect(isPermanentChannelError(none)).toBe(true);
  expect(none.message).toContain("no recent user message");
  const ev = fake.userMessage("c2c", USER, "hi");
  await fake.postEvent(url, { id: "e1", op: 0, t: ev.t, d: ev.d });
  t += 59 * 60_000;
  await ch.send(jid, "within the hour");
  t += 2 * 60_000; // 61 min after the user's message
  const late = await ch.send(jid, "too late").catch((e) => e);
  expect(late.kind).toBe("refused");
  expect(late.message).toContain("within 60 min");
  expect(late.message).toContain("2025-04-21");
  // Groups: 5 min and at most 5 replies per message; 7 chunks → 5 sent, then refused.
  const g = fake.userMessage("group", GROUP, "x");
  await fake.postEvent(url, { id: "e2", op: 0, t: g.t, d: g.d });
  const sentChunks: number[] = [];
  const err = await ch
    .send(`qq:group:${GROUP}`, Array.from({ length: 7 }, (_, i) => `${i}`.repeat(1700)).join("\n\n"), {
      onChunkSent: (i) => sentChunks.push(i),
    })
    .catch((e) => e);
  expect(sentChunks).toEqual([0, 1, 2, 3, 4]);
  expect(err.message).toContain("at most 5 replies per message");
  expect(fake.sent.filter((s) => s.kind === "group").map((s) => s.body.msg_seq)).toEqual([1, 2, 3, 4, 5]);
  expect(fake.refusals).toEqual([]); // refused by ngb before QQ had to
});

test("webhook: forged, replayed, foreign, malformed, oversized and unknown pushes are refused and counted; a re-push is stored once", async () => {
  fake = startFakeQq();
  sink = createStoreSink("ngb-qq-", "qq");
  ch = make(cfg(fake, "webhook"));
  await ch.connect(sink);
  const url = serve(ch);
  const ev = fake.userMessage("c2c", USER, "hello &amp; &lt;3");
  const payload = { id: "e1", op: 0, t: ev.t, d: ev.d };
  expect((await fake.postEvent(url, payload, { forge: true })).status).toBe(401);
  expect(
    (await fake.postEvent(url, payload, { timestamp: String(Math.floor(Date.now() / 1000) - 86_400) }))
      .status,
  ).toBe(401);
  expect((await fake.postEvent(url, payload, { appIdHeader: "999" })).status).toBe(403);
  expect((await fetch(url, { method: "POST", body: "{nope" })).status).toBe(400);
  expect((await fetch(url, { method: "POST", body: "x".repeat(300_000) })).status).toBe(413);
  expect((await fake.postEvent(url, { op: 99, d: {} })).status).toBe(400);
  expect((await fake.postEvent(url, { id: "e9", op: 0, t: "SOMETHING_NEW", d: {} })).status).toBe(200);
  expect(
    (await fake.postEvent(url, { id: "e8", op: 0, t: "C2C_MESSAGE_CREATE", d: { id: "x" } })).status,
  ).toBe(200);
  expect(storedIds(sink.store, `qq:c2c:${USER}`)).toEqual([]);
  expect((await fake.postEvent(url, payload)).status).toBe(200);
  expect((await fake.postEvent(url, payload)).status).toBe(200); // QQ may push twice
  expect(storedIds(sink.store, `qq:c2c:${USER}`)).toEqual([String(ev.d.id)]);
  expect(sink.store.messages.since(`qq:c2c:${USER}`, 0, 10)[0]!.content).toBe("hello & <3");
  expect(ch.health().rejected).toEqual({
    bad_signature: 1,
    replayed: 1,
    wrong_app: 1,
    bad_body: 1,
    oversized: 1,
    unknown_op: 1,
    unknown_event: 1,
    bad_message: 1,
    duplicate: 1,
  });
});

test("gateway: identify, events in all four kinds, a drop mid-stream resumes with the last seq: nothing lost or duplicated", async () => {
  fake = startFakeQq({ heartbeatMs: 50 });
  sink = createStoreSink("ngb-qq-", "qq");
  ch = make(cfg(fake, "gateway"));
  await ch.connect(sink);
  expect(fake.identifies).toBe(1);
  const ids: string[] = [];
  const push = (kind: "group" | "c2c" | "channel" | "dm", chat: string, text: string) => {
    const ev = fake!.userMessage(kind, chat, text);
    ids.push(String(ev.d.id));
    fake!.dispatch(ev.t, ev.d);
  };
  push("group", GROUP, "g1");
  push("c2c", USER, "c1");
  push("channel", "3001", "ch1");
  push("dm", "9100", "dm1");
  await waitFor(() => sink!.inboundCalls.length === 4, "four stored");
  await waitFor(() => fake!.heartbeats.some((h) => h !== null && h >= 5), "heartbeat carries the last seq");
  fake.drop();
  push("c2c", USER, "during the drop 1");
  push("c2c", USER, "during the drop 2");
  await waitFor(() => fake!.resumes.length === 1, "resumed");
  await waitFor(() => storedIds(sink!.store, `qq:c2c:${USER}`).length === 3, "backlog replayed");
  expect(fake.resumes[0]!.seq).toBe(5);
  expect(fake.identifies).toBe(1);
  expect(sink.inboundCalls.map((m) => m.id)).toEqual(ids);
  expect(sink.store.messages.since("qq:channel:3001", 0, 10)[0]!.content).toBe("@Andy ch1");
  // Replies go to each kind's endpoint.
  await ch.send("qq:channel:3001", "to the channel");
  await ch.send("qq:dm:9100", "to the dm");
  expect(fake.sent.map((s) => [s.kind, s.target])).toEqual([
    ["channel", "3001"],
    ["dm", "9100"],
  ]);
  // op 7: reconnect and resume.
  fake.reconnectOp();
  await waitFor(() => fake!.resumes.length === 2, "resumed after op 7");
  const discovered = sink.discoveredChats.map((c) => c.jid).sort();
  expect(discovered).toEqual([`qq:c2c:${USER}`, "qq:channel:3001", "qq:dm:9100", `qq:group:${GROUP}`].sort());
});

test("gateway: invalid session on every identify backs off instead of looping", async () => {
  fake = startFakeQq({ heartbeatMs: 1000 });
  fake.invalidSessionOnIdentify(true);
  sink = createStoreSink("ngb-qq-", "qq");
  ch = make(cfg(fake, "gateway"), { backoff: { initialMs: 50, maxMs: 400, jitter: 0 } });
  await ch.connect(sink); // returns: the channel keeps trying in the background
  const started = Date.now();
  await Bun.sleep(1200);
  // 50 + 100 + 200 + 400 + 400 … ms between attempts: a handful, never hundreds.
  expect(fake.identifies).toBeGreaterThanOrEqual(3);
  expect(fake.identifies).toBeLessThanOrEqual(7);
  expect(ch.health().rejected.invalid_session).toBe(fake.identifies);
  fake.invalidSessionOnIdentify(false);
  await waitFor(() => ch!.health().state === "connected", "recovers", 5_000);
  expect(Date.now() - started).toBeLessThan(5_000);
});

test("token expiry mid-run: the send's 401 drops the token, a new one is fetched, the send succeeds", async () => {
  fake = startFakeQq();
  sink = createStoreSink("ngb-qq-", "qq");
  ch = make(cfg(fake, "webhook"));
  await ch.connect(sink);
  const url = serve(ch);
  const ev = fake.userMessage("c2c", USER, "hi");
  await fake.postEvent(url, { id: "e1", op: 0, t: ev.t, d: ev.d });
  await ch.send(`qq:c2c:${USER}`, "one");
  fake.expireTokensNow();
  await ch.send(`qq:c2c:${USER}`, "two");
  expect(fake.sent.map((s) => [s.body.content, s.body.msg_seq])).toEqual([
    ["one", 1],
    ["two", 2], // the 401 attempt was refused before QQ counted it: the retry keeps its seq
  ]);
  expect(fake.tokensIssued).toBe(2);
  expect(fake.refusals.map((r) => r.code)).toEqual([11244]);
});

test("wrong credentials: connect fails with an auth error, doctor's verify says so", async () => {
  fake = startFakeQq();
  sink = createStoreSink("ngb-qq-", "qq");
  ch = make({ ...cfg(fake, "gateway"), appSecret: "not-the-secret" });
  const err = await ch.connect(sink).catch((e) => e);
  expect(err.kind).toBe("auth");
  expect(err.message).not.toContain("not-the-secret");
  const v = await ch.verify!();
  expect(v.ok).toBe(false);
  const good = make(cfg(fake, "gateway"));
  expect(await good.verify!()).toMatchObject({ ok: true });
});

test("a task run whose output cannot reach a QQ chat records the reason (e.g. a task created before this check)", async () => {
  fake = startFakeQq();
  const f = fake;
  const jid = `qq:group:${GROUP}`;
  rig = createLoopRig({
    prefix: "ngb-qq-task-",
    jid,
    respond: () => [{ status: "success", result: "the digest", newSessionId: "s" }],
    channel: () => make(cfg(f, "webhook")),
  });
  await rig.orch.start();
  const now = Date.now();
  const task = rig.store.tasks.insert({
    id: "task-0123456789ab",
    groupFolder: "team",
    chatJid: jid,
    prompt: "daily digest",
    scheduleType: "interval",
    scheduleValue: "3600000",
    timezone: null,
    contextMode: "isolated",
    catchUp: "run-once",
    status: "active",
    nextRun: now,
    createdBy: "cli",
    createdAt: now,
  });
  const outcome = await rig.orch.runTask(task, now);
  expect(outcome.status).toBe("error");
  expect(outcome.error).toContain("QQ only accepts replies");
  expect(f.sent).toEqual([]);
  expect(f.refusals).toEqual([]); // refused by ngb, not by a doomed call to QQ
});

test("gateway: garbage, unknown opcodes, oversized frames, replayed and out-of-order events are contained", async () => {
  fake = startFakeQq({ heartbeatMs: 1000 });
  sink = createStoreSink("ngb-qq-", "qq");
  ch = make(cfg(fake, "gateway"));
  await ch.connect(sink);
  const a = fake.userMessage("c2c", USER, "a");
  const { s } = fake.dispatch(a.t, a.d);
  fake.raw("{garbage");
  fake.raw(JSON.stringify({ op: 42, d: {} }));
  fake.raw(JSON.stringify({ op: 0, s: s + 1, t: "X", d: "y".repeat(2 * 1024 * 1024) }));
  fake.raw(JSON.stringify({ op: 0, s, t: a.t, d: a.d, id: "replay" })); // the same event again
  const b = fake.userMessage("c2c", USER, "b");
  fake.raw(JSON.stringify({ op: 0, s: s - 1, t: b.t, d: b.d, id: "late" })); // an older seq
  await waitFor(() => storedIds(sink!.store, `qq:c2c:${USER}`).length === 2, "both stored once");
  await waitFor(() => ch!.health().rejected.duplicate === 1, "replay counted");
  expect(ch.health().rejected).toMatchObject({
    bad_frame: 1,
    unknown_op: 1,
    oversized_frame: 1,
    duplicate: 1,
  });
  expect(ch.gateway!.seq).toBe(s); // never moves backwards
  expect(fake.identifies).toBe(1); // the connection carried on
  expect(ch.health().state).toBe("connected");
});
