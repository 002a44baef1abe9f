/**
 * The DingTalk adapter against the fake DingTalk (Stream gateway + OpenAPI + session webhooks on
 * 127.0.0.1): receive → stored, acks after the store, pings echoed, disconnect notices and drops
 * with nothing lost or duplicated, replies by session webhook then OpenAPI, chunking, token
 * expiry, flow control and error codes, bad payloads contained with one log line.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DingTalkApiError } from "../../src/channels/dingtalk/api.ts";
import {
  createDingTalkChannel,
  type DingTalkChannel,
  type DingTalkChannelOptions,
} from "../../src/channels/dingtalk/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createFakeDingTalk, type FakeDingTalk, type FakeDingTalkOptions } from "../fakes/dingtalk.ts";
import {
  type CapturingLogger,
  capturingLogger,
  createStoreSink,
  type StoreSink,
  storedIds,
  waitFor,
} from "./support.ts";

let fake: FakeDingTalk;
let sink: StoreSink;
const channels: DingTalkChannel[] = [];

afterEach(async () => {
  for (const ch of channels.splice(0)) await ch.disconnect();
  await fake?.stop();
  sink?.close();
});

function setup(o: FakeDingTalkOptions = {}) {
  fake = createFakeDingTalk({ disconnectCloseMs: 100, redeliverAfterMs: 300, ...o });
  sink = createStoreSink("ngb-dt-", "dingtalk");
}

function channel(extra: Partial<DingTalkChannelOptions> = {}, logger?: CapturingLogger): DingTalkChannel {
  const ch = createDingTalkChannel({
    config: { apiBaseUrl: fake.url, clientId: fake.clientId, clientSecret: fake.clientSecret },
    assistantName: "Andy",
    log: logger?.log ?? silentLogger(),
    backoff: { initialMs: 20, maxMs: 200 },
    maxRateLimitRetries: 3,
    flowControlRetryMs: 20,
    ...extra,
  });
  channels.push(ch);
  return ch;
}

const GROUP = "dingtalk:group:cidGroupFake0001==";
const USER = "dingtalk:user:staff001";

describe("dingtalk inbound", () => {
  test("1:1 and group messages are stored, mentions normalised, chats discovered, acks sent after the store", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    expect(ch.health().state).toBe("connected");
    const a = fake.pushRobotMessage({ chat: "user", text: "hello bot" });
    const b = fake.pushRobotMessage({ chat: "group", text: "what time is it?", conversationTitle: "Team" });
    const c = fake.pushRobotMessage({
      chat: "group",
      text: "",
      msgtype: "richText",
      content: { richText: [{ text: "see " }, { downloadCode: "dc1", type: "picture" }, { text: " this" }] },
    });
    await waitFor(() => fake.acks.length === 3, "3 acks");
    expect(fake.acks.map((x) => x.messageId)).toEqual([a.messageId, b.messageId, c.messageId]);
    expect(fake.acks.every((x) => x.code === 200 && x.data === '{"response":null}')).toBe(true);
    const dm = sink.store.messages.since(USER, 0);
    expect(dm.map((m) => [m.id, m.content, m.sender, m.senderName, m.mentionsBot])).toEqual([
      [a.msgId, "hello bot", "staff001", "Alice", true],
    ]);
    const group = sink.store.messages.since(GROUP, 0);
    expect(group.map((m) => m.content)).toEqual(["@Andy what time is it?", "@Andy see [image] this"]);
    expect(group[0]!.mentionsBot).toBe(true);
    expect(group[1]!.attachments).toEqual([{ kind: "image" }]);
    expect(sink.discoveredChats).toContainEqual({ jid: GROUP, name: "Team", isGroup: true });
    expect(sink.discoveredChats).toContainEqual({ jid: USER, name: "Alice", isGroup: false });
    expect(fake.pendingCount).toBe(0);
  });

  test("a SYSTEM ping is answered with its opaque echoed and the socket stays up", async () => {
    setup({ pingTimeoutMs: 500 });
    const ch = channel();
    await ch.connect(sink);
    const opaque = fake.sendPing();
    await waitFor(() => fake.pongs.includes(opaque), "ping echoed");
    expect(fake.badAcks).toEqual([]);
    expect(fake.openSockets).toBe(1);
  });

  test("a server disconnect: new ticket, new socket, nothing lost, nothing duplicated", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    fake.pushRobotMessage({ chat: "user", text: "before" });
    await waitFor(() => fake.acks.length === 1, "first ack");
    fake.sendDisconnect();
    // The old connection gets nothing more; these wait for (or go to) the new one.
    for (let i = 0; i < 5; i++) fake.pushRobotMessage({ chat: "user", text: `during ${i}` });
    await waitFor(() => sink.store.messages.count() === 6, "6 stored");
    await waitFor(() => fake.pendingCount === 0, "all acked");
    expect(fake.connectionCount).toBe(2);
    await waitFor(() => fake.openSockets === 1, "old socket closed");
    expect(sink.store.messages.since(USER, 0).map((m) => m.content)).toEqual([
      "before",
      ...[0, 1, 2, 3, 4].map((i) => `during ${i}`),
    ]);
    expect(fake.rejectedUpgrades).toBe(0);
  });

  test("a dropped socket reconnects with a fresh ticket; a redelivered callback is stored once", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    fake.pushRobotMessage({ chat: "group", text: "one" });
    await waitFor(() => fake.acks.length === 1, "ack");
    fake.dropSockets();
    fake.pushRobotMessage({ chat: "group", text: "two" });
    fake.pushRobotMessage({ chat: "group", text: "three" });
    await waitFor(() => sink.store.messages.count() === 3, "3 stored", 5_000);
    expect(fake.connectionCount).toBe(2);
    // Same msgId pushed again (redelivery): acked, not stored twice.
    const again = fake.pushRobotMessage({
      chat: "group",
      text: "one",
      msgId: sink.store.messages.since(GROUP, 0)[0]!.id,
    });
    await waitFor(() => fake.acks.some((a) => a.messageId === again.messageId), "redelivery acked");
    expect(storedIds(sink.store, GROUP)).toHaveLength(3);
    expect(ch.health().state).toBe("connected");
  });

  test("a silent socket (no frames, no pongs) is replaced; pongs keep a quiet socket alive", async () => {
    setup();
    // Pings that go nowhere: the link looks dead (half-open TCP after a NAT timeout).
    class Unanswered extends WebSocket {
      ping() {}
    }
    const ch = channel({ WebSocket: Unanswered, pingIntervalMs: 20, silenceTimeoutMs: 150 });
    await ch.connect(sink);
    await waitFor(() => fake.connectionCount >= 2, "replacement connection", 5_000);
    fake.pushRobotMessage({ chat: "user", text: "after the zombie" });
    await waitFor(() => sink.store.messages.count() === 1, "stored on the new socket");
    await ch.disconnect();
    // With real pings the server's pongs keep the same quiet socket.
    const before = fake.connectionCount;
    const live = channel({ pingIntervalMs: 20, silenceTimeoutMs: 150 });
    await live.connect(sink);
    await Bun.sleep(400);
    expect(fake.connectionCount).toBe(before + 1);
    expect(live.health().state).toBe("connected");
  });

  test("a store failure is retried in place; an un-acked callback pushed again is not stored twice", async () => {
    setup();
    const ch = channel();
    sink.failNext(2);
    await ch.connect(sink);
    fake.pushRobotMessage({ chat: "user", text: "survives" });
    await waitFor(() => sink.store.messages.count() === 1, "stored after retries");
    await waitFor(() => fake.pendingCount === 0, "acked");
    expect(sink.inboundCalls).toHaveLength(3);
  });

  test("wrong credentials stop with one clear error and no retry storm", async () => {
    setup();
    const logger = capturingLogger();
    const ch = createDingTalkChannel({
      config: { apiBaseUrl: fake.url, clientId: fake.clientId, clientSecret: "wrong-secret-value" },
      assistantName: "Andy",
      log: logger.log,
      backoff: { initialMs: 20, maxMs: 50 },
    });
    channels.push(ch);
    await ch.connect(sink);
    expect(ch.health().state).toBe("error");
    expect(ch.health().lastError).toContain("InvalidAuthentication");
    expect(logger.warnings().join("\n")).not.toContain("wrong-secret-value");
    const opens = fake.calls.filter((c) => c.path === "/v1.0/gateway/connections/open").length;
    await Bun.sleep(150);
    expect(fake.calls.filter((c) => c.path === "/v1.0/gateway/connections/open").length).toBe(opens);
    const v = await ch.verify!();
    expect(v.ok).toBe(false);
  });

  test("bad payloads: each refused with one log line, the connection carries on, nothing stored twice", async () => {
    setup();
    const logger = capturingLogger();
    const rejected: string[] = [];
    const ch = channel({ onRejected: (kind) => rejected.push(kind) }, logger);
    await ch.connect(sink);
    fake.pushRaw("{not json");
    fake.pushRaw(JSON.stringify({ specVersion: "1.0", type: "CALLBACK", headers: "nope", data: "{}" }));
    fake.pushRaw(`{"type":"CALLBACK","headers":{"messageId":"huge"},"data":"${"x".repeat(1_100_000)}"}`);
    const unknownType = fake.pushFrame("WEIRD", "/x", "{}");
    const unknownTopic = fake.pushFrame("CALLBACK", "/v1.0/card/instances/callback", "{}");
    const badData = fake.pushFrame("CALLBACK", "/v1.0/im/bot/messages/get", "{oops");
    const noMsgId = fake.pushFrame(
      "CALLBACK",
      "/v1.0/im/bot/messages/get",
      JSON.stringify({ conversationType: "1" }),
    );
    const event = fake.pushFrame("EVENT", "*", JSON.stringify({ eventType: "user_add_org" }));
    const huge = fake.pushRobotMessage({ chat: "user", text: "y".repeat(50_000) });
    fake.pushRobotMessage({ chat: "user", text: "still alive" });
    await waitFor(() => sink.store.messages.count() === 2, "two good messages stored");
    await waitFor(() => fake.acks.length === 6, "6 acks");
    const byId = new Map(fake.acks.map((a) => [a.messageId, a]));
    expect(byId.get(unknownTopic)?.code).toBe(404);
    expect(byId.get(badData)?.code).toBe(200);
    expect(byId.get(noMsgId)?.code).toBe(200);
    expect(byId.get(event)?.data).toBe(JSON.stringify({ status: "SUCCESS", message: "success" }));
    expect(byId.has(unknownType)).toBe(false);
    expect(byId.get(huge.messageId)?.code).toBe(200);
    const stored = sink.store.messages.since(USER, 0);
    expect(stored[0]!.content.length).toBeLessThan(20_010);
    const warnings = logger.warnings();
    expect(warnings.filter((w) => w.includes("not JSON")).length).toBe(2); // the frame, the data
    expect(warnings.some((w) => w.includes("frame too large"))).toBe(true);
    expect(warnings.some((w) => w.includes("unknown frame type"))).toBe(true);
    expect(warnings.some((w) => w.includes("msgId"))).toBe(true);
    expect(warnings.join("\n")).not.toContain(fake.clientSecret);
    expect(rejected.sort()).toEqual([
      "bad_frame",
      "bad_frame",
      "bad_frame",
      "bad_frame",
      "bad_message",
      "bad_message",
      "unknown_topic",
      "unknown_topic",
    ]);
    expect(warnings.length).toBe(rejected.length + 1); // + the cut long message
    expect(fake.connectionCount).toBe(1);
  });
});

describe("dingtalk outbound", () => {
  test("a reply goes through the session webhook while it is valid, as markdown when it is Markdown", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    fake.pushRobotMessage({ chat: "group", text: "hi" });
    await waitFor(() => sink.store.messages.count() === 1, "stored");
    expect(await ch.sendWithRoutes(GROUP, "plain answer")).toEqual(["webhook"]);
    await ch.send(GROUP, "## Result\n\n- **one**\n- two");
    expect(fake.sent).toEqual([
      { route: "webhook", to: "cidGroupFake0001==", msgtype: "text", text: "plain answer" },
      {
        route: "webhook",
        to: "cidGroupFake0001==",
        msgtype: "markdown",
        title: "Result",
        text: "## Result\n\n- **one**\n- two",
      },
    ]);
    expect(fake.tokensIssued).toBe(0);
  });

  test("after the webhook expired: OpenAPI for groups and 1:1, token header, robotCode, JSON msgParam", async () => {
    setup({ webhookTtlMs: 30 });
    const ch = channel();
    await ch.connect(sink);
    fake.pushRobotMessage({ chat: "group", text: "hi" });
    fake.pushRobotMessage({ chat: "user", text: "hi" });
    await waitFor(() => sink.store.messages.count() === 2, "stored");
    expect(await ch.sendWithRoutes(GROUP, "to the group")).toEqual(["openapi"]);
    expect(await ch.sendWithRoutes(USER, "**to** you")).toEqual(["openapi"]);
    expect(fake.sent).toEqual([
      { route: "group", to: "cidGroupFake0001==", msgtype: "text", text: "to the group" },
      { route: "oto", to: "staff001", msgtype: "markdown", title: "to you", text: "**to** you" },
    ]);
    expect(fake.tokensIssued).toBe(1);
  });

  test("a webhook the platform says expired falls back to the OpenAPI; ngb send to a chat that never wrote works by id", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    fake.pushRobotMessage({ chat: "user", text: "hi" });
    await waitFor(() => sink.store.messages.count() === 1, "stored");
    fake.expireWebhooks();
    expect(await ch.sendWithRoutes(USER, "late reply")).toEqual(["openapi"]);
    expect(await ch.sendWithRoutes("dingtalk:user:staff002", "cold start")).toEqual(["openapi"]);
    expect(fake.sent.map((s) => [s.route, s.to])).toEqual([
      ["oto", "staff001"],
      ["oto", "staff002"],
    ]);
  });

  test("long replies are split at the limit, in order, each chunk delivered once", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    fake.pushRobotMessage({ chat: "group", text: "hi" });
    await waitFor(() => sink.store.messages.count() === 1, "stored");
    const paragraphs = Array.from({ length: 30 }, (_, i) => `para ${i} ${"字".repeat(300)}`);
    await ch.send(GROUP, paragraphs.join("\n\n"));
    expect(fake.sent.length).toBeGreaterThan(2);
    expect(fake.sent.every((s) => s.text.length <= 3_500)).toBe(true);
    expect(fake.sent.map((s) => s.text).join("\n\n")).toBe(paragraphs.join("\n\n"));
  });

  test("token expiry in the middle of a run: one refresh, the send goes through", async () => {
    setup({ webhookTtlMs: 1 });
    const ch = channel();
    await ch.connect(sink);
    await ch.send(USER, "first");
    fake.expireTokens();
    await ch.send(USER, "second");
    expect(fake.sent.map((s) => s.text)).toEqual(["first", "second"]);
    expect(fake.calls.filter((c) => c.path === "/v1.0/oauth2/accessToken").length).toBe(2);
    expect(fake.calls.filter((c) => c.status === 400).length).toBe(1);
  });

  test("rate limits: a QPS refusal and a flow-controlled user are waited out; a persistent one fails as rate-limited", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    fake.throttle("/v1.0/robot/groupMessages/send", 1);
    fake.pushRobotMessage({ chat: "group", text: "hi", webhookTtlMs: 1 });
    await waitFor(() => sink.store.messages.count() === 1, "stored");
    await ch.send(GROUP, "after a throttle");
    expect(fake.sent.map((s) => s.text)).toEqual(["after a throttle"]);
    fake.flowControlled.add("staff001");
    const err = await ch.send(USER, "never").catch((e: Error) => e);
    expect((err as Error).name).toBe("RateLimitedError");
    fake.flowControlled.clear();
    await ch.send(USER, "later");
    expect(fake.sent.map((s) => s.text)).toEqual(["after a throttle", "later"]);
  });

  test("error codes: unknown staff id, 1:1 not allowed, unknown group, external user without webhook", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    const unknown = await ch.send("dingtalk:user:nobody", "x").catch((e: Error) => e);
    expect(unknown).toBeInstanceOf(DingTalkApiError);
    expect((unknown as DingTalkApiError).permanent).toBe(true);
    fake.notAllowOto = true;
    const oto = (await ch.send(USER, "x").catch((e: Error) => e)) as DingTalkApiError;
    expect(oto.code).toBe("chatbotId.notAllow.sendOTO");
    expect(oto.message).toContain("developer console");
    const group = (await ch
      .send("dingtalk:group:cidUnknown", "x")
      .catch((e: Error) => e)) as DingTalkApiError;
    expect(group.code).toBe("resource.not.found");
    const ext = (await ch.send("dingtalk:user:$:LWCP_v1:$abc", "x").catch((e: Error) => e)) as Error;
    expect(ext.message).toContain("external user");
    await expect(ch.send("tg:1", "x")).rejects.toThrow("not a DingTalk chat id");
    expect(fake.sent).toEqual([]);
  });

  test("1:1 not allowed still works through a valid session webhook; external users reply by webhook", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    fake.notAllowOto = true;
    fake.pushRobotMessage({ chat: "user", text: "hi", senderStaffId: null, senderNick: "Guest" });
    await waitFor(() => sink.store.messages.count() === 1, "stored");
    const jid = sink.discoveredChats[0]!.jid;
    expect(jid).toBe("dingtalk:user:$:LWCP_v1:$senderexternal");
    expect(await ch.sendWithRoutes(jid, "hello guest")).toEqual(["webhook"]);
  });

  test("session webhooks survive a restart (file, mode 0600): an external user is still answered", async () => {
    setup();
    const file = join(tmpdir(), `ngb-dt-webhooks-${process.pid}-${Date.now()}.json`);
    const first = channel({ webhookFile: file });
    await first.connect(sink);
    fake.pushRobotMessage({ chat: "user", text: "hi", senderStaffId: null });
    await waitFor(() => sink.store.messages.count() === 1, "stored");
    await first.disconnect();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toContain("sendBySession");
    const second = channel({ webhookFile: file });
    expect(await second.sendWithRoutes("dingtalk:user:$:LWCP_v1:$senderexternal", "after restart")).toEqual([
      "webhook",
    ]);
    rmSync(file, { force: true });
  });

  test("a token endpoint that fails or answers garbage: the send fails clearly, the connection carries on", async () => {
    setup({ webhookTtlMs: 1 });
    const logger = capturingLogger();
    const ch = channel({ tokenFailureCooldownMs: 0 }, logger);
    await ch.connect(sink);
    fake.tokenEndpoint = "fail";
    await expect(ch.send(USER, "x")).rejects.toThrow("HTTP 500");
    fake.tokenEndpoint = "garbage";
    await expect(ch.send(USER, "x")).rejects.toThrow("not a JSON object");
    fake.tokenEndpoint = "ok";
    await ch.send(USER, "works again");
    fake.pushRobotMessage({ chat: "user", text: "still receiving" });
    await waitFor(() => sink.store.messages.count() === 1, "stored");
    expect(fake.sent.map((s) => s.text)).toEqual(["works again"]);
    expect(logger.warnings().join("\n")).not.toContain(fake.clientSecret);
  });

  test("verify: token issued and a Stream connection can be opened", async () => {
    setup();
    const ch = channel();
    const v = await ch.verify!();
    expect(v.ok).toBe(true);
    expect(v.detail).toContain("7200 s");
  });
});
