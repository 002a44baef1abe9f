import { afterEach, describe, expect, test } from "bun:test";
import { createDiscordChannel, type DiscordChannel } from "../../src/channels/discord/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from "../fakes/discord.ts";
import {
  type CapturingLogger,
  capturingLogger,
  createStoreSink,
  type StoreSink,
  storedIds,
  waitFor,
} from "./support.ts";

let fake: FakeDiscord;
let sink: StoreSink;
const channels: DiscordChannel[] = [];
const GENERAL = "3000000000000000001";
const JID = `dc:${GENERAL}`;

function setup(options: FakeDiscordOptions = {}) {
  fake = createFakeDiscord({ heartbeatIntervalMs: 200, ...options });
  sink = createStoreSink("ngb-dc-", "discord");
}

function channel(logger?: CapturingLogger, token?: string): DiscordChannel {
  const ch = createDiscordChannel({
    config: { apiBaseUrl: fake.apiBaseUrl, gatewayUrl: fake.gatewayUrl, botToken: token ?? fake.token },
    log: logger?.log ?? silentLogger(),
    backoff: { initialMs: 20, maxMs: 200 },
    invalidSessionDelayMs: [10, 30],
    typingRefreshMs: 30,
  });
  channels.push(ch);
  return ch;
}

async function connected(ch: DiscordChannel) {
  await ch.connect(sink);
  await waitFor(() => ch.health().state === "connected" && fake.online, "gateway ready");
}

afterEach(async () => {
  for (const ch of channels.splice(0)) await ch.disconnect();
  fake?.stop();
  sink?.close();
});

describe("discord gateway", () => {
  test("identify with intents, READY, heartbeats ACKed, messages stored, guild channels discovered", async () => {
    setup();
    const ch = channel();
    await connected(ch);
    const identify = fake.received.find((p) => p.op === 2)!.d as { token: string; intents: number };
    expect(identify.token).toBe(fake.token);
    // GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT
    expect(identify.intents).toBe(1 | 512 | 4096 | 32768);
    expect(ch.bot).toEqual({ id: fake.botId, username: fake.botUsername });

    await waitFor(() => sink.discoveredChats.some((c) => c.jid === JID), "guild channel discovered");
    expect(sink.discoveredChats).toContainEqual({ jid: JID, name: "Test Guild #general", isGroup: true });
    expect(sink.discoveredChats.some((c) => c.jid === "dc:3000000000000000002")).toBe(false); // voice

    fake.message({ content: "hello there" });
    fake.message({ content: `<@${fake.botId}> what's up?`, mentions: [fake.botId] });
    fake.message({ content: "my own reply", authorId: fake.botId, bot: true });
    const replyTo = fake.message({ content: "original" });
    fake.message({ content: "a reply", replyTo });
    fake.message({ content: "", type: 7 }); // member join: system message, skipped
    fake.message({ channelId: "5000000000000000001", guildId: null, content: "dm text", authorName: "bob" });
    await waitFor(() => sink.store.messages.count() === 6, "6 stored");

    const msgs = sink.store.messages.since(JID, 0);
    expect(msgs.map((m) => m.content)).toEqual([
      "hello there",
      `@${fake.botUsername} what's up?`,
      "my own reply",
      "original",
      "a reply",
    ]);
    expect(msgs[0]!.mentionsBot).toBe(false);
    expect(msgs[0]!.senderName).toBe("Alice");
    expect(msgs[1]!.mentionsBot).toBe(true);
    expect(msgs[2]!.isFromMe).toBe(true);
    expect(msgs[4]!.replyToId).toBe(replyTo);
    const dm = sink.store.messages.since("dc:5000000000000000001", 0);
    expect(dm[0]!.mentionsBot).toBe(true);
    expect(sink.discoveredChats).toContainEqual({
      jid: "dc:5000000000000000001",
      name: "bob",
      isGroup: false,
    });

    // heartbeats are flowing (interval 200 ms) and ACKed: still the same connection
    await waitFor(() => fake.received.filter((p) => p.op === 1).length >= 2, "heartbeats");
    expect(fake.connections).toHaveLength(1);
    fake.requestHeartbeat();
    const before = fake.received.filter((p) => p.op === 1).length;
    await waitFor(() => fake.received.filter((p) => p.op === 1).length > before, "heartbeat on request");
  });

  test("socket dropped mid-stream: resume at resume_gateway_url replays the rest, nothing lost or duplicated", async () => {
    setup();
    const ch = channel();
    await connected(ch);
    const ids: string[] = [];
    fake.dropAfter(5);
    for (let i = 0; i < 20; i++) ids.push(fake.message({ content: `burst ${i}` }));
    await waitFor(() => fake.resumes >= 1 && fake.online, "resumed");
    await waitFor(() => storedIds(sink.store, JID).length === 20, "20 stored");
    // while disconnected (dropped again), more events are buffered and replayed
    fake.dropSocket();
    for (let i = 0; i < 5; i++) ids.push(fake.message({ content: `offline ${i}` }));
    await waitFor(() => storedIds(sink.store, JID).length === 25, "25 stored");
    expect(storedIds(sink.store, JID)).toEqual(ids);
    expect(fake.identifies).toBe(1);
    expect(fake.resumes).toBeGreaterThanOrEqual(2);
    expect(fake.connections.slice(1).every((u) => u.includes("/gateway-resume?v=10&encoding=json"))).toBe(
      true,
    );
    const resume = fake.received.find((p) => p.op === 6)!.d as { session_id: string; seq: number };
    expect(resume.session_id).toBe(fake.sessionId!);
    expect(resume.seq).toBeGreaterThan(0);
  });

  test("a store failure makes the client resume from the last stored event", async () => {
    setup();
    const logger = capturingLogger();
    const ch = channel(logger);
    await connected(ch);
    sink.failNext(1);
    const ids = [0, 1, 2, 3].map((i) => fake.message({ content: `m${i}` }));
    await waitFor(() => storedIds(sink.store, JID).length === 4, "all stored after resume");
    expect(storedIds(sink.store, JID)).toEqual(ids);
    expect(fake.resumes).toBeGreaterThanOrEqual(1);
    expect(logger.warnings().some((w) => w.includes("simulated store failure"))).toBe(true);
  });

  test("zombie connection (no heartbeat ACK) is closed and resumed", async () => {
    setup({ heartbeatIntervalMs: 100 });
    const logger = capturingLogger();
    const ch = channel(logger);
    await connected(ch);
    fake.ackHeartbeats = false;
    await waitFor(() => logger.warnings().some((w) => w.includes("zombie")), "zombie detected", 5000);
    fake.ackHeartbeats = true;
    await waitFor(() => fake.resumes >= 1 && fake.online, "resumed after zombie");
    const id = fake.message({ content: "after zombie" });
    await waitFor(() => storedIds(sink.store, JID).includes(id), "stored");
  });

  test("op 7 Reconnect resumes; op 9 resumable resumes; op 9 not resumable re-identifies", async () => {
    setup();
    const ch = channel();
    await connected(ch);
    fake.requestReconnect();
    await waitFor(() => fake.resumes === 1 && fake.online, "resumed after op 7");
    fake.invalidSession(true);
    await waitFor(() => fake.resumes === 2 && fake.online, "resumed after op 9 true");
    const oldSession = fake.sessionId;
    fake.invalidSession(false);
    await waitFor(() => fake.identifies === 2 && fake.online, "re-identified after op 9 false");
    expect(fake.sessionId).not.toBe(oldSession);
    await waitFor(() => ch.gateway?.sessionId === fake.sessionId, "client has new session");
    const id = fake.message({ content: "new session" });
    await waitFor(() => storedIds(sink.store, JID).includes(id), "stored on new session");
  });

  test("an unreachable gateway is retried with backoff until it answers", async () => {
    setup();
    fake.refuseUpgrades = 3;
    const ch = channel();
    await ch.connect(sink);
    await waitFor(() => ch.health().state === "connected" && fake.online, "connected after refusals");
    expect(fake.connections).toHaveLength(4);
    expect(sink.statuses.filter((s) => s.state === "error")).toHaveLength(3);
    const id = fake.message({ content: "finally" });
    await waitFor(() => storedIds(sink.store, JID).includes(id), "stored");
  });

  test("close 4004 (bad token) stops with a clear error, no reconnect loop, no token in it", async () => {
    setup();
    const ch = channel(undefined, "wrong.token.value");
    await ch.connect(sink);
    await waitFor(() => ch.health().state === "error", "error state");
    expect(ch.health().lastError).toContain("discord rejected the bot token");
    expect(ch.health().lastError).not.toContain("wrong.token.value");
    await Bun.sleep(300);
    expect(fake.connections).toHaveLength(1);
  });

  test("close 4014 (disallowed intents) says to enable MESSAGE_CONTENT", async () => {
    setup();
    fake.allowMessageContent = false;
    const ch = channel();
    await ch.connect(sink);
    await waitFor(() => ch.health().state === "error", "error state");
    expect(ch.health().lastError).toContain("Message Content Intent");
    await Bun.sleep(300);
    expect(fake.connections).toHaveLength(1);
  });

  test("malformed dispatches and payloads are ignored with a log line", async () => {
    setup();
    const logger = capturingLogger();
    const ch = channel(logger);
    await connected(ch);
    fake.dispatch("MESSAGE_CREATE", { id: "1", content: "no channel" });
    fake.dispatch("MESSAGE_CREATE", { id: 5, channel_id: GENERAL, author: {}, content: 1, timestamp: "x" });
    fake.dispatch("GUILD_CREATE", "nonsense");
    const id = fake.message({ content: "good one" });
    await waitFor(() => storedIds(sink.store, JID).includes(id), "good stored");
    const warnings = logger.warnings().filter((w) => w.includes("malformed"));
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toContain("channel_id");
    expect(sink.store.messages.count()).toBe(1);
  });
});

describe("discord REST", () => {
  test("send splits to 2000 per message, replies on the first chunk, mentions limited to users", async () => {
    setup();
    const ch = channel();
    const text = Array.from({ length: 12 }, (_, i) => `Line block ${i}: ${"x".repeat(390)}`).join("\n\n");
    await ch.send(JID, text, { replyToId: "777" });
    expect(fake.sent.length).toBeGreaterThanOrEqual(3);
    for (const s of fake.sent) {
      expect(s.content.length).toBeLessThanOrEqual(2000);
      expect(s.channelId).toBe(GENERAL);
      expect(s.allowed_mentions).toEqual({ parse: ["users"] });
    }
    expect(fake.sent[0]!.message_reference?.message_id).toBe("777");
    expect(fake.sent[1]!.message_reference).toBeUndefined();
    expect(fake.sent.map((s) => s.content).join("\n\n")).toBe(text);
  });

  test("429 honours retry_after from the JSON body", async () => {
    setup();
    const logger = capturingLogger();
    const ch = channel(logger);
    fake.rateLimit(`POST /channels/${GENERAL}/messages`, 0.5);
    await ch.send(JID, "rate limited hello");
    expect(fake.sent.map((s) => s.content)).toEqual(["rate limited hello"]);
    const calls = fake.restCalls.filter((c) => c.path.endsWith("/messages"));
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(450);
    expect(logger.warnings().some((w) => w.includes("send rate limited"))).toBe(true);
  });

  test("typing posts to /typing until turned off; verify uses /users/@me", async () => {
    setup();
    const ch = channel();
    await ch.setTyping!(JID, true);
    await waitFor(() => fake.typing.length >= 3, "typing refreshed");
    await ch.setTyping!(JID, false);
    const n = fake.typing.length;
    await Bun.sleep(100);
    expect(fake.typing.length).toBeLessThanOrEqual(n + 1);
    expect(fake.typing[0]).toBe(GENERAL);
    expect(await ch.verify!()).toEqual({ ok: true, detail: `bot ${fake.botUsername} (${fake.botId})` });
    const bad = channel(undefined, "bad.token.zzz");
    const v = await bad.verify!();
    expect(v.ok).toBe(false);
    expect(v.detail).toContain("rejected the bot token");
    expect(v.detail).not.toContain("bad.token.zzz");
  });

  test("send refuses foreign chat ids and surfaces platform refusals", async () => {
    setup();
    const ch = channel();
    await expect(ch.send("tg:123", "x")).rejects.toThrow("not a Discord chat id");
    expect(ch.ownsJid(JID)).toBe(true);
    expect(ch.ownsJid("slack:C1")).toBe(false);
  });
});

describe("discord sends exactly once and knows its own posts (issues 9, 20)", () => {
  test("every chunk carries a nonce from the reply's key with enforce_nonce: a re-send posts nothing new", async () => {
    setup();
    const ch = channel();
    await connected(ch);
    const text = Array.from({ length: 3 }, (_, i) => `${i} ${"y".repeat(1900)}`).join("\n\n");
    await ch.send(JID, text, { idempotencyKey: "reply:team:42" });
    expect(fake.sent).toHaveLength(3);
    const nonces = fake.sent.map((s) => s.nonce);
    expect(new Set(nonces).size).toBe(3);
    for (const s of fake.sent) {
      expect(String(s.nonce).length).toBeLessThanOrEqual(25);
      expect(s.enforce_nonce).toBe(true);
    }
    // The process died after Discord accepted the reply; the re-send carries the same nonces.
    const again = channel();
    await connected(again);
    await again.send(JID, text, { idempotencyKey: "reply:team:42" });
    expect(fake.sent).toHaveLength(3);
    expect(ch.dedupesSends).toBe(true);
    // Resuming a partly sent reply sends only the rest, with the same per-chunk nonces.
    await again.send(JID, text, { idempotencyKey: "reply:team:43", fromChunk: 2 });
    expect(fake.sent).toHaveLength(4);
  });

  test("a reply references the answered message; replyReference: false turns it off", async () => {
    setup();
    const ch = channel();
    await connected(ch);
    const asked = fake.message({ content: "question" });
    await ch.send(JID, "answer", { replyToId: asked });
    expect(fake.sent[0]!.message_reference).toEqual({ message_id: asked, fail_if_not_exists: false });
    const plain = createDiscordChannel({
      config: {
        apiBaseUrl: fake.apiBaseUrl,
        gatewayUrl: fake.gatewayUrl,
        botToken: fake.token,
        replyReference: false,
      },
      log: silentLogger(),
    });
    channels.push(plain);
    await plain.send(JID, "answer 2", { replyToId: asked });
    expect(fake.sent[1]!.message_reference).toBeUndefined();
  });

  test("the echo of our own post is not stored again; the bot's other posts are ours (isFromMe + isBot); other bots isBot", async () => {
    setup();
    const ch = channel();
    await connected(ch);
    fake.message({ content: "a user" });
    await ch.send(JID, "our reply", { idempotencyKey: "k1" });
    fake.message({
      content: "posted by this bot elsewhere",
      authorId: fake.botId,
      authorName: fake.botUsername,
      bot: true,
    });
    fake.message({ content: "another bot", authorId: "4000000000000000099", bot: true });
    await waitFor(() => sink.store.messages.count() === 3, "3 stored");
    await Bun.sleep(50);
    const msgs = sink.store.messages.since(JID, 0);
    expect(msgs.map((m) => [m.content, m.isFromMe, m.isBot])).toEqual([
      ["a user", false, false],
      ["posted by this bot elsewhere", true, true],
      ["another bot", false, true],
    ]);
  });
});
