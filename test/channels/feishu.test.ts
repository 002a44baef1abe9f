/**
 * The Feishu channel against the wire-faithful fake: long connection (events, split frames, acks,
 * re-pushes, drops, handshake refusals, bad frames), sending (cards, chunks, threads, uuid
 * de-duplication, rate limits, error codes, token expiry) and typing reactions.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { FeishuApiError, FeishuAuthError, FeishuNetworkError } from "../../src/channels/feishu/api.ts";
import {
  createFeishuChannel,
  type FeishuChannel,
  type FeishuConfig,
} from "../../src/channels/feishu/channel.ts";
import { encodeFrame } from "../../src/channels/feishu/frame.ts";
import { silentLogger } from "../../src/log/index.ts";
import { idleRuntime } from "../support/web-deps.ts";
import { createFakeFeishu, type FakeFeishu, type FakeFeishuOptions } from "../fakes/feishu.ts";
import {
  type CapturingLogger,
  capturingLogger,
  createStoreSink,
  type StoreSink,
  storedIds,
  waitFor,
} from "./support.ts";

let fake: FakeFeishu;
let sink: StoreSink;
const channels: FeishuChannel[] = [];

function setup(opts: FakeFeishuOptions = {}) {
  fake = createFakeFeishu({ ackTimeoutMs: 300, ...opts });
  sink = createStoreSink("ngb-feishu-", "feishu");
}

function config(over: Partial<FeishuConfig> = {}): FeishuConfig {
  return {
    region: "feishu",
    baseUrl: fake.url,
    appId: fake.appId,
    appSecret: fake.appSecret,
    mode: "websocket",
    webhookPath: "/hooks/feishu",
    format: "auto",
    workingReaction: "Typing",
    quoteReplies: "groups",
    ...over,
  };
}

function channel(
  over: Partial<FeishuConfig> = {},
  logger?: CapturingLogger,
  rejected?: string[],
): FeishuChannel {
  const ch = createFeishuChannel({
    config: config(over),
    assistantName: "Andy",
    log: logger?.log ?? silentLogger(),
    ...(rejected ? { onRejected: (r: string) => rejected.push(r) } : {}),
  });
  channels.push(ch);
  return ch;
}

async function connected(ch: FeishuChannel) {
  await ch.connect(sink);
  await waitFor(() => ch.health().state === "connected" && fake.openSockets === 1, "long connection");
}

afterEach(async () => {
  for (const ch of channels.splice(0)) await ch.disconnect();
  fake?.stop();
  sink?.close();
});

const JID = "feishu:oc_team";

describe("feishu long connection", () => {
  test("events are stored once, acked with 200, chats discovered, mentions and threads mapped", async () => {
    setup();
    fake.chatNames.set("oc_team", "Team");
    const ch = channel();
    await connected(ch);
    expect(ch.bot).toEqual({ openId: fake.botOpenId, name: fake.botName });

    const e1 = fake.push(fake.messageEvent({ chatId: "oc_team", text: "hello everyone", messageId: "om_1" }));
    const e2 = fake.push(
      fake.messageEvent({
        chatId: "oc_team",
        text: "@_user_1 what time is it?",
        messageId: "om_2",
        mentions: [{ key: "@_user_1", openId: fake.botOpenId, name: fake.botName }],
        threadId: "omt_1",
        rootId: "om_root",
      }),
    );
    const e3 = fake.push(
      fake.messageEvent({ chatId: "oc_dm", chatType: "p2p", text: "a DM", messageId: "om_3" }),
    );
    const e4 = fake.push(
      fake.messageEvent({ chatId: "oc_team", text: "x".repeat(20_000), messageId: "om_4" }),
      { split: 3 },
    );
    await waitFor(() => [e1, e2, e3, e4].every((e) => fake.acked(e)), "all acked");
    expect(storedIds(sink.store, JID)).toEqual(["om_1", "om_2", "om_4"]);
    const m2 = sink.store.messages.since(JID, 0, 10)[1]!;
    expect(m2.content).toBe("@Andy what time is it?");
    expect(m2.mentionsBot).toBe(true);
    expect(m2.threadId).toBe("om_root");
    expect(sink.store.messages.since("feishu:oc_dm", 0, 10)[0]!.mentionsBot).toBe(true);
    expect(sink.store.messages.since(JID, 0, 10)[2]!.content).toBe("x".repeat(20_000));
    await waitFor(() => sink.store.messages.chat(JID)?.name === "Team", "chat name looked up");
    expect(sink.store.messages.chat(JID)?.channel).toBe("feishu");
    expect(sink.discoveredChats.map((c) => c.jid)).toContain("feishu:oc_dm");
    expect(fake.acks.filter((a) => a.code === 200)).toHaveLength(4);
  });

  test("a re-pushed event (same event_id) and a store failure: stored exactly once, nothing lost", async () => {
    setup();
    const ch = channel();
    await connected(ch);
    const ev = fake.messageEvent({
      chatId: "oc_team",
      text: "once",
      messageId: "om_once",
      eventId: "ev_once",
    });
    fake.push(ev);
    await waitFor(() => fake.acked("ev_once"), "ack");
    fake.push(ev); // the platform's retry after a lost ack
    await waitFor(() => fake.acks.filter((a) => a.code === 200).length === 2, "second ack");

    sink.failNext(1);
    const failing = fake.push(
      fake.messageEvent({ chatId: "oc_team", text: "retry me", messageId: "om_retry" }),
    );
    await waitFor(() => fake.acked(failing), "re-pushed and acked");
    expect(fake.acks.some((a) => a.code === 500)).toBe(true);
    expect(storedIds(sink.store, JID)).toEqual(["om_once", "om_retry"]);
  });

  test("a dropped connection reconnects with a new bootstrap; events pushed meanwhile arrive once", async () => {
    setup();
    const ch = channel();
    await connected(ch);
    fake.push(fake.messageEvent({ chatId: "oc_team", text: "before", messageId: "om_a" }));
    await waitFor(() => storedIds(sink.store, JID).length === 1, "first stored");
    fake.closeAll();
    const during = [1, 2, 3].map((i) =>
      fake.push(fake.messageEvent({ chatId: "oc_team", text: `during ${i}`, messageId: `om_d${i}` })),
    );
    await waitFor(() => fake.endpointCalls.length >= 2 && fake.openSockets === 1, "reconnected");
    await waitFor(() => during.every((e) => fake.acked(e)), "re-pushed events acked", 10_000);
    expect(storedIds(sink.store, JID)).toEqual(["om_a", "om_d1", "om_d2", "om_d3"]);
    expect(ch.health().state).toBe("connected");
    expect(sink.statuses.map((s) => s.state)).toContain("disconnected");
  });

  test("ping carries the service id; the pong's config replaces the client's", async () => {
    setup({ clientConfig: { PingInterval: 1 } });
    const ch = channel();
    await connected(ch);
    await waitFor(() => fake.pings.length >= 1, "ping");
    expect(fake.pings[0]!.service).toBe(fake.serviceId);
    fake.clientConfig = { ...fake.clientConfig, ReconnectInterval: 7, ReconnectNonce: 3 };
    await waitFor(() => ch.connection?.config?.ReconnectInterval === 7, "config from pong", 4_000);
    expect(ch.connection?.config?.ReconnectNonce).toBe(3);
  });

  test("malformed, truncated and unknown frames are refused with one log line each; the connection carries on", async () => {
    setup();
    const logger = capturingLogger();
    const rejected: string[] = [];
    const ch = channel({}, logger, rejected);
    await connected(ch);
    const good = encodeFrame({
      seqId: 1n,
      logId: 1n,
      service: 1,
      method: 1,
      headers: [{ key: "type", value: "event" }],
      payload: new TextEncoder().encode("{}"),
    });
    fake.sendRaw(new Uint8Array([0xff, 0xff, 0xff]));
    fake.sendRaw(good.subarray(0, good.length - 3));
    fake.sendRaw("a text frame");
    fake.sendFrame({
      seqId: 2n,
      logId: 2n,
      service: 1,
      method: 1,
      headers: [
        { key: "type", value: "event" },
        { key: "message_id", value: "m" },
        { key: "sum", value: "2" },
        { key: "seq", value: "5" },
      ],
      payload: new Uint8Array([1]),
    });
    fake.sendFrame({
      seqId: 3n,
      logId: 3n,
      service: 1,
      method: 1,
      headers: [{ key: "type", value: "event" }],
      payload: new TextEncoder().encode("not json"),
    });
    const unknown = fake.push({
      schema: "2.0",
      header: { event_id: "ev_unknown", event_type: "contact.user.created_v3", app_id: fake.appId },
      event: {},
    });
    const ok = fake.push(fake.messageEvent({ chatId: "oc_team", text: "still here", messageId: "om_ok" }));
    await waitFor(() => fake.acked(ok) && fake.acked(unknown), "later events acked");
    expect(storedIds(sink.store, JID)).toEqual(["om_ok"]);
    expect(rejected.length).toBeGreaterThanOrEqual(6);
    expect(fake.openSockets).toBe(1);
    expect(fake.endpointCalls).toHaveLength(1);
    const text = logger.records.map((r) => JSON.stringify(r.args)).join("\n");
    expect(text).not.toContain(fake.appSecret);
    expect(logger.warnings().length).toBeGreaterThanOrEqual(5);
  });

  test("events for another app are refused; events for unregistered chats are stored (and only stored)", async () => {
    setup();
    const ch = channel();
    await connected(ch);
    const other = fake.messageEvent({ chatId: "oc_team", text: "spoof", messageId: "om_spoof" });
    (other.header as { app_id: string }).app_id = "cli_0000000000000000";
    const a = fake.push(other);
    const b = fake.push(fake.messageEvent({ chatId: "oc_stranger", text: "hi", messageId: "om_s" }));
    await waitFor(() => fake.acked(a) && fake.acked(b), "acks");
    expect(storedIds(sink.store, JID)).toEqual([]);
    expect(storedIds(sink.store, "feishu:oc_stranger")).toEqual(["om_s"]);
  });

  test("a handshake refused for too many connections stops with a config error; auth 514 is retried", async () => {
    setup();
    fake.refuseHandshake = { status: 514, autherrcode: 1000040350, msg: "exceed conn limit" };
    const ch = channel();
    await ch.connect(sink);
    await waitFor(
      () => ch.health().state === "error" && /too many connections/.test(ch.health().lastError ?? ""),
      "error",
    );
    const calls = fake.endpointCalls.length;
    await Bun.sleep(1_200);
    expect(fake.endpointCalls.length).toBe(calls);
    await ch.disconnect();

    fake.refuseHandshake = { status: 514, msg: "auth failed" };
    const ch2 = channel();
    await ch2.connect(sink);
    await waitFor(() => fake.endpointCalls.length >= calls + 2, "retried after a 514", 5_000);
    expect(ch2.health().lastError).toMatch(/auth failed/);
    fake.refuseHandshake = undefined;
    await waitFor(() => ch2.health().state === "connected", "connected once accepted", 5_000);
  });

  test("ReconnectCount from the server bounds the retries; then the channel reports it gave up", async () => {
    setup({ clientConfig: { ReconnectCount: 2, ReconnectInterval: 0, ReconnectNonce: 0 } });
    fake.refuseHandshake = { status: 500, msg: "internal" };
    const ch = channel();
    await ch.connect(sink);
    await waitFor(
      () => /gave up after 3 failed attempts/.test(ch.health().lastError ?? ""),
      "gave up",
      5_000,
    );
    expect(fake.endpointCalls).toHaveLength(3);
    expect(ch.health().state).toBe("error");
  });

  test("wrong app secret: connect fails with an auth error that names the app, not the secret", async () => {
    setup();
    const ch = channel({ appSecret: "wrong-secret-value" });
    const err = await ch.connect(sink).catch((e) => e);
    expect(err).toBeInstanceOf(FeishuAuthError);
    expect(err.message).toContain(fake.appId);
    expect(err.message).not.toContain("wrong-secret-value");
    expect(await ch.verify!()).toMatchObject({ ok: false });
    const good = channel();
    expect(await good.verify!()).toEqual({ ok: true, detail: `bot ${fake.botName} (${fake.url})` });
  });
});

describe("feishu sending", () => {
  test("text, Markdown cards, threads and chunking", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    await ch.send(JID, "plain words");
    await ch.send(JID, "**bold** and `code`", { threadId: "om_root" });
    await ch.send("feishu:ou_someone", "a DM");
    const long = Array.from({ length: 40 }, (_, i) => `paragraph ${i} ${"字".repeat(600)}`).join("\n\n");
    await ch.send(JID, long);
    expect(fake.sent[0]).toMatchObject({
      receive_id_type: "chat_id",
      receive_id: "oc_team",
      msg_type: "text",
      text: "plain words",
    });
    expect(fake.sent[1]).toMatchObject({
      reply_to: "om_root",
      reply_in_thread: true,
      msg_type: "post",
    });
    expect(fake.sent[1]!.text).toBe("**bold** and `code`");
    expect(fake.sent[2]).toMatchObject({ receive_id_type: "open_id", receive_id: "ou_someone" });
    const chunks = fake.sent.slice(3);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.text).join("\n\n")).toBe(long);
  });

  test("quote replies: first chunk quotes the answered message in groups, not in 1:1 chats or when off", async () => {
    setup();
    const ch = channel();
    await connected(ch);
    const dm = fake.push(
      fake.messageEvent({ chatId: "oc_dm", chatType: "p2p", text: "hi", messageId: "om_dm" }),
    );
    await waitFor(() => fake.acked(dm), "dm stored");
    const long = Array.from({ length: 3 }, (_, i) => `part ${i} ${"word ".repeat(3_900)}`).join("\n\n");
    await ch.send(JID, long, { replyToId: "om_q1" });
    const [first, ...rest] = fake.sent;
    expect(first).toMatchObject({ reply_to: "om_q1" });
    expect(first!.reply_in_thread).toBeUndefined();
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.every((m) => m.reply_to === undefined && m.receive_id === "oc_team")).toBe(true);
    await ch.send("feishu:oc_dm", "in the dm", { replyToId: "om_dm" });
    expect(fake.sent.at(-1)).toMatchObject({ receive_id: "oc_dm", text: "in the dm" });
    const off = channel({ quoteReplies: "never" });
    await off.connect(sink);
    await off.send(JID, "unquoted", { replyToId: "om_q2" });
    expect(fake.sent.at(-1)).toMatchObject({ receive_id: "oc_team", text: "unquoted" });
  });

  test("a re-send with the same idempotency key is de-duplicated by uuid", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    await ch.send(JID, "only once", { idempotencyKey: "reply-1" });
    await ch.send(JID, "only once", { idempotencyKey: "reply-1" });
    await ch.send(JID, "another", { idempotencyKey: "reply-2" });
    expect(fake.sent.map((s) => s.text)).toEqual(["only once", "another"]);
    expect(fake.sent[0]!.uuid).toBe("reply-1-0");
  });

  test("refused rich text falls back to text; rate limits wait; other codes fail with the code", async () => {
    setup();
    const logger = capturingLogger();
    const ch = channel({}, logger);
    await ch.connect(sink);
    fake.failSends.push({ code: 230001, msg: "invalid content" });
    await ch.send(JID, "| a | b |\n|---|---|\n| 1 | 2 |");
    expect(fake.sent.at(-1)).toMatchObject({ msg_type: "text", text: "| a | b |\n|---|---|\n| 1 | 2 |" });

    fake.failSends.push({ code: 230020, msg: "frequency limit" });
    const t0 = Date.now();
    await ch.send(JID, "after a rate limit");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(fake.sent.at(-1)!.text).toBe("after a rate limit");

    fake.failSends.push({ code: 230002, msg: "The bot is not in the chat." });
    const err = await ch.send(JID, "nope").catch((e) => e);
    expect(err).toBeInstanceOf(FeishuApiError);
    expect(err.code).toBe(230002);
    expect(err.permanent).toBe(true);
    expect(logger.warnings().some((w) => w.includes("rich text"))).toBe(true);
  });

  test("a reply whose thread root is gone, or keeps hitting 230020, is posted in the chat", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    fake.failSends.push({ code: 230011, msg: "The message was withdrawn." });
    await ch.send(JID, "after a withdrawn root", { threadId: "om_gone" });
    expect(fake.sent.at(-1)).toMatchObject({ receive_id: "oc_team", text: "after a withdrawn root" });
    expect(fake.sent.at(-1)!.reply_to).toBeUndefined();
    for (let i = 0; i < 3; i++) fake.failSends.push({ code: 230020, msg: "frequency limit" });
    await ch.send(JID, "after 230020", { threadId: "om_root" });
    expect(fake.sent.at(-1)).toMatchObject({ receive_id: "oc_team", text: "after 230020" });
  }, 10_000);

  test("the throttle (5/s per chat) is waited out", async () => {
    setup({ throttle: true });
    const ch = channel();
    await ch.connect(sink);
    for (let i = 0; i < 7; i++) await ch.send(JID, `m${i}`);
    expect(fake.sent.map((s) => s.text)).toEqual(["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);
  });

  test("a token that expires mid-run is replaced once, transparently", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    await ch.send(JID, "first");
    fake.expireTokens();
    await ch.send(JID, "second");
    const tokenCalls = fake.calls.filter((c) => c.path.includes("tenant_access_token")).length;
    expect(tokenCalls).toBe(2);
    expect(fake.sent.map((s) => s.text)).toEqual(["first", "second"]);
    const auths = new Set(fake.calls.filter((c) => c.path.startsWith("/open-apis/im/")).map((c) => c.auth));
    expect(auths.size).toBe(2);
  });

  test("a token endpoint that fails or answers garbage gives a retryable error without secrets", async () => {
    setup();
    const ch = channel();
    fake.tokenMode = "garbage";
    const e1 = await ch.send(JID, "x").catch((e) => e);
    expect(e1).toBeInstanceOf(FeishuNetworkError);
    expect(e1.permanent).toBe(false);
    expect(e1.message).not.toContain(fake.appSecret);
    fake.tokenMode = "error500";
    const e2 = await ch.send(JID, "x").catch((e) => e);
    expect(e2).toBeInstanceOf(FeishuNetworkError);
    fake.tokenMode = "ok";
    await Bun.sleep(1_100); // the token cache's cool-down after a failed refresh
    await ch.send(JID, "works again");
    expect(fake.sent.map((s) => s.text)).toEqual(["works again"]);
  });

  test("working feedback is a reaction on the message being answered, removed afterwards", async () => {
    setup();
    const ch = channel();
    await connected(ch);
    const e = fake.push(fake.messageEvent({ chatId: "oc_team", text: "@_user_1 hi", messageId: "om_q" }));
    await waitFor(() => fake.acked(e), "ack");
    await ch.setTyping!(JID, true);
    expect(fake.reactions).toEqual([
      { messageId: "om_q", reactionId: "r-1", emoji: "Typing", deleted: false },
    ]);
    await ch.setTyping!(JID, false);
    expect(fake.reactions[0]!.deleted).toBe(true);
  });
});

describe("feishu definition", () => {
  test("built from the config through the registry; refusals reach /metrics", async () => {
    setup();
    const v = await import("valibot");
    const { Config } = await import("../../src/config/index.ts");
    const { channelDefinition, createChannel } = await import("../../src/channels/index.ts");
    const { createEventBus } = await import("../../src/events/index.ts");
    const { createMetrics } = await import("../../src/web/metrics.ts");
    const { createRejections } = await import("../../src/web/rejections.ts");
    const config = v.parse(Config, {
      channels: {
        feishu: { enabled: true, baseUrl: fake.url, appId: fake.appId, appSecret: fake.appSecret },
      },
    });
    expect(config.channels.feishu).toMatchObject({ region: "feishu", mode: "websocket", format: "auto" });
    const events = createEventBus();
    const metrics = createMetrics(events);
    const ch = (await createChannel(channelDefinition("feishu")!, {
      config,
      log: silentLogger(),
      rejections: createRejections({ events, log: silentLogger() }),
    })) as FeishuChannel;
    channels.push(ch);
    expect(ch.ownsJid("feishu:oc_1")).toBe(true);
    expect(ch.dedupesSends).toBe(true);
    await connected(ch);
    fake.sendRaw(new Uint8Array([0xff, 0xff, 0xff]));
    await waitFor(
      () =>
        metrics
          .render(idleRuntime())
          .includes('ngb_public_requests_rejected_total{source="feishu",reason="bad_frame"} 1'),
      "metric",
    );
    metrics.stop();
    expect(() => v.parse(Config, { channels: { feishu: { appId: "not-an-app-id" } } })).toThrow(/cli_/);
  });
});
