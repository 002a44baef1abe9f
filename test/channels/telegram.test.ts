import { afterEach, describe, expect, test } from "bun:test";
import { until } from "../support/wait.ts";
import { TelegramAuthError } from "../../src/channels/telegram/api.ts";
import {
  createTelegramChannel,
  type TelegramChannel,
  type TelegramConfig,
} from "../../src/channels/telegram/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts";
import {
  type CapturingLogger,
  capturingLogger,
  createStoreSink,
  type StoreSink,
  storedIds,
} from "./support.ts";

let fake: FakeTelegram;
let sink: StoreSink;
const channels: TelegramChannel[] = [];

function config(over: Partial<TelegramConfig> = {}): TelegramConfig {
  return {
    apiBaseUrl: fake.url,
    botToken: fake.token,
    mode: "polling",
    webhookPath: "/hooks/telegram",
    pollTimeoutSec: 2,
    ...over,
  };
}

function channel(over: Partial<TelegramConfig> = {}, logger?: CapturingLogger, extra = {}): TelegramChannel {
  const ch = createTelegramChannel({
    config: config(over),
    log: logger?.log ?? silentLogger(),
    backoff: { initialMs: 20, maxMs: 200 },
    conflictBackoffMs: 300,
    ...extra,
  });
  channels.push(ch);
  return ch;
}

function setup() {
  fake = createFakeTelegram();
  sink = createStoreSink("ngb-tg-", "telegram");
}

afterEach(async () => {
  for (const ch of channels.splice(0)) await ch.disconnect();
  fake?.stop();
  sink?.close();
});

describe("telegram inbound", () => {
  test("messages are stored with mentions, replies, topics, captions, and chats discovered", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    expect(ch.bot).toEqual({ id: fake.botId, username: fake.botUsername });
    await until(() => fake.polling, "polling");
    expect(fake.calls.map((c) => c.method).slice(0, 3)).toEqual(["getMe", "deleteWebhook", "getUpdates"]);

    const group = -100123;
    fake.pushMessage({ chatId: group, text: "hello everyone", chatTitle: "Team" });
    const mention = `@${fake.botUsername} what time is it?`;
    fake.pushMessage({
      chatId: group,
      text: mention,
      entities: [{ type: "mention", offset: 0, length: fake.botUsername.length + 1 }],
    });
    fake.pushMessage({ chatId: group, text: "thanks", replyTo: { messageId: 77, fromId: fake.botId } });
    fake.pushMessage({ chatId: group, text: "in a topic", threadId: 5 });
    fake.pushMessage({ chatId: group, caption: "look at this", photo: true });
    fake.pushMessage({ chatId: group, text: "echo", fromId: fake.botId, fromIsBot: true });
    fake.pushMessage({ chatId: 42, text: "a DM" });
    fake.pushAddedToChat(-100999, "New Group");

    await until(() => sink.store.messages.count() === 7, "7 stored messages");
    const msgs = sink.store.messages.since(`tg:${group}`, 0);
    expect(msgs.map((m) => m.content)).toEqual([
      "hello everyone",
      mention,
      "thanks",
      "in a topic",
      "look at this",
      "echo",
    ]);
    const [plain, mentioned, reply, topic, photo, own] = msgs;
    expect(plain!.mentionsBot).toBe(false);
    expect(plain!.senderName).toBe("Alice");
    expect(plain!.sender).toBe("42");
    expect(mentioned!.mentionsBot).toBe(true);
    expect(reply!.mentionsBot).toBe(true);
    expect(reply!.replyToId).toBe("77");
    expect(topic!.threadId).toBe("5");
    expect(photo!.attachments).toEqual([{ kind: "image", size: 50_000 }]);
    expect(own!.isFromMe).toBe(true);
    const dm = sink.store.messages.since("tg:42", 0);
    expect(dm[0]!.mentionsBot).toBe(true);

    await until(() => sink.discoveredChats.some((c) => c.jid === "tg:-100999"), "discovery");
    expect(sink.discoveredChats).toContainEqual({ jid: "tg:-100999", name: "New Group", isGroup: true });
    expect(sink.discoveredChats).toContainEqual({ jid: `tg:${group}`, name: "Team", isGroup: true });
    expect(sink.store.messages.chat("tg:-100999")?.name).toBe("New Group");
    expect(ch.health().state).toBe("connected");
    expect(sink.statuses.map((s) => s.state)).toContain("connected");
  });

  test("the offset advances only after the store has the update: a store failure loses nothing", async () => {
    setup();
    const logger = capturingLogger();
    const ch = channel({}, logger);
    sink.failNext(1);
    await ch.connect(sink);
    for (let i = 0; i < 5; i++) fake.pushMessage({ chatId: -1, text: `m${i}` });
    await until(() => sink.store.messages.count() === 5, "5 stored");
    await until(() => fake.pending === 0, "all confirmed");
    expect(storedIds(sink.store, "tg:-1")).toHaveLength(5);
    // the failed first one was retried: 6 calls, 5 rows
    expect(sink.inboundCalls.length).toBeGreaterThanOrEqual(6);
    expect(logger.warnings().some((w) => w.includes("simulated store failure"))).toBe(true);
  });

  test("a connection dropped mid-answer is retried with backoff; no message lost or duplicated", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    await until(() => fake.polling, "first poll");
    fake.dropConnection("getUpdates", 2);
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push(fake.pushMessage({ chatId: -7, text: `burst ${i}` }));
    await until(() => sink.store.messages.count() === 20, "20 stored");
    for (let i = 0; i < 10; i++) ids.push(fake.pushMessage({ chatId: -7, text: `later ${i}` }));
    await until(() => sink.store.messages.count() === 30, "30 stored");
    expect(storedIds(sink.store, "tg:-7")).toEqual(ids.map(String));
    expect(sink.statuses.some((s) => s.state === "error")).toBe(true);
    expect(ch.health().state).toBe("connected");
  });

  test("a redelivered update is a no-op in the store", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    fake.pushMessage({ chatId: -3, text: "once", messageId: 500 });
    await until(() => sink.store.messages.count() === 1, "stored");
    fake.pushMessage({ chatId: -3, text: "once", messageId: 500 }); // same message, new update id
    fake.pushMessage({ chatId: -3, text: "next", messageId: 501 });
    await until(() => storedIds(sink.store, "tg:-3").length === 2, "second stored");
    expect(storedIds(sink.store, "tg:-3")).toEqual(["500", "501"]);
  });

  test("429 on getUpdates waits retry_after before polling again", async () => {
    setup();
    fake.rateLimit("getUpdates", 1);
    const ch = channel();
    await ch.connect(sink);
    fake.pushMessage({ chatId: -2, text: "after the flood wait" });
    await until(() => sink.store.messages.count() === 1, "stored after 429");
    const polls = fake.calls.filter((c) => c.method === "getUpdates");
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls[1]!.at - polls[0]!.at).toBeGreaterThanOrEqual(950);
  });

  test("409 Conflict (a second poller) is reported clearly and not hot-looped", async () => {
    setup();
    const a = channel();
    const sinkB = createStoreSink("ngb-tg-b-", "telegram");
    try {
      const b = channel();
      await a.connect(sink);
      await until(() => fake.polling, "a polling");
      await b.connect(sinkB);
      const conflicted = () =>
        [...sink.statuses, ...sinkB.statuses].find(
          (s) => s.state === "error" && s.error?.includes("another bot instance"),
        );
      await until(() => conflicted() !== undefined, "conflict reported");
      expect(conflicted()!.error).toContain("another bot instance is polling this token");
      expect(conflicted()!.error).not.toContain(fake.token);
      // With a 300 ms conflict back-off the polls are paced, not a tight loop: the next four
      // polls (one instance long-polls, the other waits 300 ms after each 409) span >= 0.5 s.
      const polls = () => fake.calls.filter((c) => c.method === "getUpdates");
      const before = polls().length;
      await until(() => polls().length >= before + 4, "four more polls");
      const next = polls().slice(before, before + 4);
      expect(next.at(-1)!.at - next[0]!.at).toBeGreaterThanOrEqual(500);
    } finally {
      for (const ch of channels.splice(0)) await ch.disconnect();
      sinkB.close();
    }
  });

  test("409 while a webhook is set is reported, the webhook is left alone, polling resumes once it is gone", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    await until(() => fake.polling, "polling");
    fake.webhookUrl = "https://example.org/hook";
    fake.pushMessage({ chatId: -4, text: "x" }); // delivered by the running poll
    await until(() => sink.statuses.some((s) => s.error?.includes("webhook is active") === true), "409 seen");
    expect(fake.webhookUrl).toBe("https://example.org/hook"); // not stolen
    expect(ch.health().state).toBe("error");
    fake.webhookUrl = "";
    fake.pushMessage({ chatId: -4, text: "y" });
    await until(() => storedIds(sink.store, "tg:-4").length === 2, "both stored");
    expect(fake.calls.filter((c) => c.method === "deleteWebhook")).toHaveLength(1);
  });

  test("malformed updates are skipped with a log line and the loop continues", async () => {
    setup();
    const logger = capturingLogger();
    const ch = channel({}, logger);
    await ch.connect(sink);
    fake.pushRaw({ message: { message_id: "not-a-number", date: 1, chat: { id: -5, type: "group" } } });
    fake.pushRaw({ message: { message_id: 1, date: 1 } });
    fake.pushRaw({ message: "garbage" });
    fake.pushMessage({ chatId: -5, text: "good" });
    await until(() => sink.store.messages.count() === 1, "good message stored");
    await until(() => fake.pending === 0, "bad ones confirmed");
    const warnings = logger.warnings().filter((w) => w.includes("malformed update"));
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toContain("message.message_id");
    expect(warnings[1]).toContain("message.chat");
  });

  test("a rejected token stops with a clear error that does not contain the token", async () => {
    setup();
    const ch = channel({ botToken: "999:wrong-token" });
    let error: unknown;
    try {
      await ch.connect(sink);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TelegramAuthError);
    expect((error as Error).message).toContain("botToken");
    expect((error as Error).message).not.toContain("wrong-token");
    expect(fake.calls.filter((c) => c.method === "getUpdates")).toHaveLength(0);
    const v = await ch.verify!();
    expect(v.ok).toBe(false);
  });

  test("verify() uses getMe", async () => {
    setup();
    const ch = channel();
    expect(await ch.verify!()).toEqual({ ok: true, detail: `bot @${fake.botUsername}` });
    fake.stop();
    const down = await ch.verify!();
    expect(down.ok).toBe(false);
    expect(down.detail).toContain("cannot reach");
    expect(down.detail).not.toContain(fake.token);
  });
});

describe("telegram outbound", () => {
  test("long text is split to 4096 per message, in order, with topic and reply on the first chunk", async () => {
    setup();
    const ch = channel();
    await ch.connect(sink);
    const paragraphs = Array.from({ length: 30 }, (_, i) => `Paragraph ${i}. ${"word ".repeat(60)}`.trim());
    const text = paragraphs.join("\n\n");
    expect(text.length).toBeGreaterThan(8192);
    await ch.send("tg:-100123", text, { threadId: "9", replyToId: "55" });
    expect(fake.sent.length).toBe(3);
    for (const s of fake.sent) {
      expect(s.text.length).toBeLessThanOrEqual(4096);
      expect(String(s.chat_id)).toBe("-100123");
      expect(s.message_thread_id).toBe(9);
    }
    expect(fake.sent[0]!.reply_parameters?.message_id).toBe(55);
    expect(fake.sent[1]!.reply_parameters).toBeUndefined();
    expect(fake.sent.map((s) => s.text).join("\n\n")).toBe(text);
  });

  test("Markdown is sent as Telegram HTML; refused markup falls back to plain text", async () => {
    setup();
    const logger = capturingLogger();
    const ch = channel({}, logger);
    await ch.send("tg:5", "**Done**: see `a < b` and\n```sh\nls -la\n```");
    expect(fake.sent[0]!.html).toBe(
      '<b>Done</b>: see <code>a &lt; b</code> and\n<pre><code class="language-sh">ls -la</code></pre>',
    );
    expect(fake.sent[0]!.text).toBe("Done: see a < b and\nls -la");
    fake.refuseEntities(1);
    await ch.send("tg:5", "**odd** markup");
    expect(fake.sent[1]!.html).toBeUndefined();
    expect(fake.sent[1]!.text).toBe("**odd** markup");
    expect(logger.warnings().some((w) => w.includes("refused the formatting"))).toBe(true);
    // Mis-nested emphasis still arrives, formatted or plain.
    await ch.send("tg:5", "**a *b** c* <tag> & done");
    expect(fake.sent[2]!.text.replace(/[*]/g, "")).toBe("a b c <tag> & done");
  });

  test("429 on sendMessage honours retry_after and then delivers", async () => {
    setup();
    const logger = capturingLogger();
    const ch = channel({}, logger);
    fake.rateLimit("sendMessage", 1);
    const t0 = Date.now();
    await ch.send("tg:5", "hello");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(fake.sent.map((s) => s.text)).toEqual(["hello"]);
    expect(logger.warnings().some((w) => w.includes("send rate limited"))).toBe(true);
  });

  test("a platform refusal on send throws", async () => {
    setup();
    const ch = channel();
    fake.failSends(1);
    await expect(ch.send("tg:5", "x")).rejects.toThrow("chat not found");
    await expect(ch.send("slack:C1", "x")).rejects.toThrow("not a Telegram chat id");
  });

  test("a group upgraded to a supergroup: the send goes to the new id and the new chat is discovered", async () => {
    setup();
    const logger = capturingLogger();
    const ch = channel({}, logger);
    await ch.connect(sink);
    fake.migrateChat(-555, -100555);
    await ch.send("tg:-555", "hello");
    expect(fake.sent.map((s) => [String(s.chat_id), s.text])).toEqual([["-100555", "hello"]]);
    expect(sink.discoveredChats).toContainEqual({ jid: "tg:-100555", isGroup: true });
    expect(logger.warnings().some((w) => w.includes("upgraded to a supergroup"))).toBe(true);
  });

  test("typing sends chat actions until turned off", async () => {
    setup();
    const ch = channel({}, undefined, { typingRefreshMs: 30 });
    await ch.setTyping!("tg:-8", true);
    await until(() => fake.chatActions.length >= 3, "refreshed typing");
    await ch.setTyping!("tg:-8", false);
    const typed = (chatId: string) => fake.chatActions.filter((a) => a.chat_id === chatId).length;
    const n = typed("-8");
    // Witness: another chat's indicator refreshes three times, so three periods have passed.
    await ch.setTyping!("tg:-9", true);
    await until(() => typed("-9") >= 3, "the witness refreshed");
    await ch.setTyping!("tg:-9", false);
    expect(typed("-8")).toBeLessThanOrEqual(n + 1);
    expect(fake.chatActions[0]).toEqual({ chat_id: "-8", action: "typing", message_thread_id: undefined });
  });

  test("ownsJid", () => {
    setup();
    const ch = channel();
    expect(ch.ownsJid("tg:-100")).toBe(true);
    expect(ch.ownsJid("dc:1")).toBe(false);
  });
});

describe("telegram webhook mode", () => {
  test("with webhookUrl the webhook is registered at url + path, with the secret", async () => {
    setup();
    const ch = channel({
      mode: "webhook",
      webhookSecret: "s3cret-value",
      webhookUrl: "https://bot.example.org/",
    });
    await ch.connect(sink);
    expect(fake.webhookUrl).toBe("https://bot.example.org/hooks/telegram");
    expect(fake.webhookSecret).toBe("s3cret-value");
    expect(ch.health().state).toBe("connected");
  });

  test("the route verifies the secret token and stores the update", async () => {
    setup();
    const ch = channel({ mode: "webhook", webhookSecret: "s3cret-value" });
    await ch.connect(sink);
    expect(ch.webhooks).toBeDefined();
    expect(fake.calls.some((c) => c.method === "getUpdates")).toBe(false);
    const update = {
      update_id: 1,
      message: {
        message_id: 10,
        date: 1_700_000_000,
        chat: { id: -9, type: "group", title: "G" },
        text: "via hook",
      },
    };
    const post = (secret?: string) =>
      ch.webhooks!.request("/hooks/telegram", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(secret ? { "x-telegram-bot-api-secret-token": secret } : {}),
        },
        body: JSON.stringify(update),
      });
    expect((await post()).status).toBe(403);
    expect((await post("s3cret-valuX")).status).toBe(403);
    expect((await post("short")).status).toBe(403);
    expect(sink.store.messages.count()).toBe(0);
    expect((await post("s3cret-value")).status).toBe(200);
    expect(storedIds(sink.store, "tg:-9")).toEqual(["10"]);
    sink.failNext(1);
    update.message.message_id = 11;
    expect((await post("s3cret-value")).status).toBe(500); // Telegram will redeliver
  });

  test("refused calls are reported by reason (bad secret, body not JSON), never stored", async () => {
    setup();
    const reasons: string[] = [];
    const ch = channel({ mode: "webhook", webhookSecret: "s3cret-value" }, undefined, {
      onRejected: (reason: string) => void reasons.push(reason),
    });
    await ch.connect(sink);
    const post = (secret: string, body: string) =>
      ch.webhooks!.request("/hooks/telegram", {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
        body,
      });
    expect((await post("wrong", "{}")).status).toBe(403);
    expect((await post("s3cret-value", "{not json")).status).toBe(200);
    expect(reasons).toEqual(["bad_secret", "bad_body"]);
    expect(sink.store.messages.count()).toBe(0);
  });

  test("webhook mode without a secret refuses to start", async () => {
    setup();
    const ch = channel({ mode: "webhook" });
    await expect(ch.connect(sink)).rejects.toThrow("webhookSecret is required");
  });
});

describe("telegram replies quote and resume (issue 9)", () => {
  test("in groups a reply quotes the answered message, in its topic; private chats do not quote", async () => {
    setup();
    const ch = channel();
    const asked = fake.pushMessage({ chatId: -100777, text: "question in a topic", threadId: 12 });
    await ch.send("tg:-100777", "answer", { threadId: "12", replyToId: String(asked) });
    expect(fake.sent[0]).toMatchObject({
      chat_id: "-100777",
      message_thread_id: 12,
      reply_parameters: { message_id: asked, allow_sending_without_reply: true },
    });
    const dm = fake.pushMessage({ chatId: 5, chatType: "private", text: "hi" });
    await ch.send("tg:5", "hello", { replyToId: String(dm) });
    expect(fake.sent[1]!.reply_parameters).toBeUndefined();
  });

  test("a deleted original does not fail the send", async () => {
    setup();
    const ch = channel();
    const asked = fake.pushMessage({ chatId: -100778, text: "soon deleted" });
    fake.deleteMessage(-100778, asked);
    await ch.send("tg:-100778", "still answered", { replyToId: String(asked) });
    expect(fake.sent.map((s) => s.text)).toEqual(["still answered"]);
  });

  test("quoteReplies: always quotes in private chats too; never quotes nowhere", async () => {
    setup();
    const always = channel({ quoteReplies: "always" });
    const dm = fake.pushMessage({ chatId: 6, chatType: "private", text: "hi" });
    await always.send("tg:6", "a", { replyToId: String(dm) });
    expect(fake.sent[0]!.reply_parameters?.message_id).toBe(dm);
    const never = channel({ quoteReplies: "never" });
    const asked = fake.pushMessage({ chatId: -100779, text: "q" });
    await never.send("tg:-100779", "b", { replyToId: String(asked) });
    expect(fake.sent[1]!.reply_parameters).toBeUndefined();
  });

  test("a partly sent reply resumes at fromChunk and reports each accepted chunk", async () => {
    setup();
    const ch = channel();
    const text = Array.from({ length: 3 }, (_, i) => `${i}: ${"x".repeat(4000)}`).join("\n\n");
    const accepted: number[] = [];
    await ch.send("tg:-100780", text, { fromChunk: 1, onChunkSent: (i) => accepted.push(i) });
    expect(accepted).toEqual([1, 2]);
    expect(fake.sent.map((s) => s.text.slice(0, 2))).toEqual(["1:", "2:"]);
  });

  test("409 'terminated by other getUpdates request' after a restart recovers in seconds, logged once", async () => {
    setup();
    const logger = capturingLogger();
    // The real defaults (1 s, 2 s…); the long conflict wait would be 60 s.
    const ch = channel({}, logger, { conflictBackoffMs: 60_000, conflictRetryMs: undefined });
    fake.conflictNext(2);
    const started = Date.now();
    await ch.connect(sink);
    fake.pushMessage({ chatId: -9, text: "sent while we restarted" });
    await until(() => sink.store.messages.count() === 1, "stored after the conflict", 10_000);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(2_900); // 1 s + 2 s
    expect(took).toBeLessThan(8_000);
    expect(ch.health().state).toBe("connected");
    const conflictLines = logger.warnings().filter((w) => w.includes("another bot instance"));
    expect(conflictLines).toHaveLength(1);
    expect(conflictLines[0]).not.toContain(fake.token);
  }, 15_000);

  test("a conflict that lasts past the grace period is another instance: the long wait applies", async () => {
    setup();
    const ch = channel({}, undefined, {
      conflictRetryMs: [20],
      conflictGraceMs: 100,
      conflictBackoffMs: 60_000,
    });
    fake.conflictNext(1_000);
    await ch.connect(sink);
    await until(() => fake.calls.filter((c) => c.method === "getUpdates").length >= 3, "quick retries");
    await until(() => ch.health().lastError?.includes("stop the other instance"), "the long back-off", 5_000);
    const polls = fake.calls.filter((c) => c.method === "getUpdates").length;
    await Bun.sleep(300);
    // Past the grace period: waiting the long back-off, no more polls.
    expect(fake.calls.filter((c) => c.method === "getUpdates").length).toBe(polls);
    expect(ch.health().lastError).toContain("stop the other instance");
  });
});
