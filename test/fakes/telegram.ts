/**
 * A fake Telegram Bot API on 127.0.0.1 speaking the real wire protocol: `POST /bot<token>/<method>`
 * with JSON (or query) parameters, `{ok, result}` / `{ok:false, error_code, description,
 * parameters}` answers. getUpdates really long-polls (answers as soon as an update is queued,
 * or after `timeout` seconds), honours offsets (updates below the offset are confirmed and
 * forgotten), and answers 409 to the older of two overlapping polls or while a webhook is set.
 * Tests script 429s, dropped connections, raw (bad) payloads, and 409s to new polls (as after a
 * restart, while the killed process's poll is still open at Telegram). Like Telegram, it never
 * delivers the bot's own messages back to it. `reply_parameters` naming a message the chat does
 * not have fails with "message to be replied not found" unless `allow_sending_without_reply`.
 */
import type { Message, Update } from "@grammyjs/types";

export interface SentMessage {
  chat_id: string | number;
  /** The text as shown (HTML tags parsed away when parse_mode is HTML). */
  text: string;
  /** The raw text sent, when parse_mode was HTML. */
  html?: string;
  message_thread_id?: number;
  reply_parameters?: { message_id: number; allow_sending_without_reply?: boolean };
  message_id: number;
}

export interface FakeTelegramOptions {
  token?: string;
  botId?: number;
  botUsername?: string;
}

interface Waiter {
  drop: boolean;
  offset: number;
  limit: number;
  resolve: (r: Response) => void;
  timer: ReturnType<typeof setTimeout>;
}

export interface PushMessage {
  chatId: number;
  text?: string;
  caption?: string;
  chatType?: "private" | "group" | "supergroup" | "channel";
  chatTitle?: string;
  fromId?: number;
  fromName?: string;
  fromIsBot?: boolean;
  messageId?: number;
  threadId?: number;
  replyTo?: { messageId: number; fromId?: number };
  entities?: { type: string; offset: number; length: number }[];
  photo?: boolean;
}

export class FakeTelegram {
  readonly token: string;
  readonly botId: number;
  readonly botUsername: string;
  /** Every request received, in order: method name and parsed params. */
  readonly calls: { method: string; params: Record<string, unknown>; at: number }[] = [];
  readonly sent: SentMessage[] = [];
  readonly chatActions: { chat_id: unknown; action: unknown; message_thread_id?: unknown }[] = [];
  /** Highest offset a getUpdates call confirmed with. */
  confirmedOffset = 0;
  webhookUrl = "";
  /** secret_token given with the last setWebhook. */
  webhookSecret = "";
  private server: ReturnType<typeof Bun.serve>;
  private queue: unknown[] = [];
  private nextUpdateId = 1000;
  private nextMessageId = 1;
  private waiter: Waiter | undefined;
  private rateLimits = new Map<string, { retryAfter: number; count: number }>();
  private drops = new Map<string, number>();
  private sendFailures = 0;
  private migrated = new Map<string, number>();
  private entityRefusals = 0;
  private conflicts = 0;
  /** Message ids each chat has (pushed or sent), for reply_parameters. */
  private readonly messages = new Map<string, Set<number>>();

  constructor(options: FakeTelegramOptions = {}) {
    this.token = options.token ?? "123456:TEST-token_abc";
    this.botId = options.botId ?? 123456;
    this.botUsername = options.botUsername ?? "ngb_test_bot";
    this.server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: (req) => this.handle(req),
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  /** Updates queued and not yet confirmed by an offset. */
  get pending(): number {
    return this.queue.length;
  }

  /** Is a getUpdates request waiting right now? */
  get polling(): boolean {
    return this.waiter !== undefined;
  }

  stop(): void {
    if (this.waiter) {
      clearTimeout(this.waiter.timer);
      this.waiter.resolve(this.ok([]));
      this.waiter = undefined;
    }
    this.server.stop(true);
  }

  /** The next `count` calls of `method` answer 429 with `retry_after`. */
  rateLimit(method: string, retryAfterSec: number, count = 1): void {
    this.rateLimits.set(method, { retryAfter: retryAfterSec, count });
  }

  /** The next `count` calls of `method` get their connection dropped mid-answer. */
  dropConnection(method: string, count = 1): void {
    this.drops.set(method, count);
  }

  /** Queue a raw update object (may be malformed); `update_id` is added when missing. */
  pushRaw(update: Record<string, unknown>): number {
    const id = typeof update.update_id === "number" ? update.update_id : this.nextUpdateId++;
    this.queue.push({ update_id: id, ...update });
    this.wake();
    return id;
  }

  /** Queue a message update with realistic fields; returns the message id. */
  pushMessage(p: PushMessage): number {
    const messageId = p.messageId ?? this.nextMessageId++;
    this.remember(p.chatId, messageId);
    const chatType = p.chatType ?? (p.chatId > 0 ? "private" : "supergroup");
    const message: Record<string, unknown> = {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      chat:
        chatType === "private"
          ? { id: p.chatId, type: "private", first_name: p.fromName ?? "Alice" }
          : {
              id: p.chatId,
              type: chatType,
              title: p.chatTitle ?? "Test Group",
              is_forum: p.threadId !== undefined,
            },
      from: {
        id: p.fromId ?? 42,
        is_bot: p.fromIsBot ?? false,
        first_name: p.fromName ?? "Alice",
        username: "alice",
      },
    };
    if (p.text !== undefined) message.text = p.text;
    if (p.caption !== undefined) message.caption = p.caption;
    if (p.entities) message[p.text !== undefined ? "entities" : "caption_entities"] = p.entities;
    if (p.photo) {
      message.photo = [
        { file_id: "small", file_unique_id: "s", width: 90, height: 90, file_size: 1000 },
        { file_id: "big", file_unique_id: "b", width: 800, height: 800, file_size: 50_000 },
      ];
    }
    if (p.threadId !== undefined) {
      message.message_thread_id = p.threadId;
      message.is_topic_message = true;
    }
    if (p.replyTo) {
      message.reply_to_message = {
        message_id: p.replyTo.messageId,
        date: Math.floor(Date.now() / 1000),
        chat: message.chat,
        from: { id: p.replyTo.fromId ?? 7, is_bot: p.replyTo.fromId === this.botId, first_name: "X" },
      };
    }
    this.pushRaw({ message } as unknown as Record<string, unknown>);
    return messageId;
  }

  /** Queue many simple text messages at once (benchmarks). */
  pushMany(chatId: number, count: number, textOf = (i: number) => `message ${i}`): void {
    for (let i = 0; i < count; i++) {
      const update: Update = {
        update_id: this.nextUpdateId++,
        message: {
          message_id: this.nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: "group", title: "Bench" },
          from: { id: 42, is_bot: false, first_name: "Alice" },
          text: textOf(i),
        } as Message.TextMessage & Update.NonChannel,
      };
      this.queue.push(update);
    }
    this.wake();
  }

  /** The bot was added to a group (my_chat_member update). */
  pushAddedToChat(chatId: number, title: string): void {
    this.pushRaw({
      my_chat_member: {
        chat: { id: chatId, type: "supergroup", title },
        from: { id: 42, is_bot: false, first_name: "Alice" },
        date: Math.floor(Date.now() / 1000),
        old_chat_member: { status: "left", user: { id: this.botId, is_bot: true, first_name: "Bot" } },
        new_chat_member: { status: "member", user: { id: this.botId, is_bot: true, first_name: "Bot" } },
      },
    });
  }

  /** The group `oldId` was upgraded to supergroup `newId`: sends to the old id fail with 400. */
  migrateChat(oldId: number, newId: number): void {
    this.migrated.set(String(oldId), newId);
  }

  /** The next `count` sendMessage calls with a parse_mode fail with "can't parse entities". */
  refuseEntities(count: number): void {
    this.entityRefusals = count;
  }

  /** The next `count` getUpdates calls answer 409 "terminated by other getUpdates request". */
  conflictNext(count: number): void {
    this.conflicts = count;
  }

  /** The message is gone (deleted by a user): replies to it no longer find it. */
  deleteMessage(chatId: number | string, messageId: number): void {
    this.messages.get(String(chatId))?.delete(messageId);
  }

  private remember(chatId: number | string, messageId: number) {
    let set = this.messages.get(String(chatId));
    if (!set) {
      set = new Set();
      this.messages.set(String(chatId), set);
    }
    set.add(messageId);
  }

  /** Make the next `count` sendMessage calls fail with 400. */
  failSends(count: number): void {
    this.sendFailures = count;
  }

  private ok(result: unknown): Response {
    return Response.json({ ok: true, result });
  }

  private err(code: number, description: string, parameters?: Record<string, unknown>): Response {
    return Response.json(
      { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) },
      { status: code },
    );
  }

  private confirm(offset: number) {
    if (offset > this.confirmedOffset) this.confirmedOffset = offset;
    this.queue = this.queue.filter((u) => (u as { update_id: number }).update_id >= offset);
  }

  private available(offset: number, limit: number): unknown[] {
    return this.queue.filter((u) => (u as { update_id: number }).update_id >= offset).slice(0, limit);
  }

  private wake() {
    const w = this.waiter;
    if (!w) return;
    const batch = this.available(w.offset, w.limit);
    if (batch.length === 0) return;
    clearTimeout(w.timer);
    this.waiter = undefined;
    w.resolve(w.drop ? this.dropped() : this.ok(batch));
  }

  private async params(req: Request): Promise<Record<string, unknown>> {
    const url = new URL(req.url);
    const out: Record<string, unknown> = Object.fromEntries(url.searchParams);
    if (req.method === "POST") {
      const type = req.headers.get("content-type") ?? "";
      if (type.includes("application/json")) Object.assign(out, await req.json());
      else if (type.includes("form")) Object.assign(out, Object.fromEntries(await req.formData()));
    }
    return out;
  }

  private dropped(): Response {
    // Send headers and half a JSON body, then break the stream: the client sees a reset.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"ok":true,"result":[{"update_id":'));
        setTimeout(() => controller.close(), 5);
      },
    });
    // The declared length is never reached: the client sees the connection end mid-body.
    return new Response(stream, {
      headers: { "content-type": "application/json", "content-length": "4096" },
    });
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!m) return this.err(404, "Not Found");
    if (m[1] !== this.token) return this.err(401, "Unauthorized");
    const method = m[2]!;
    let params: Record<string, unknown>;
    try {
      params = await this.params(req);
    } catch {
      return this.err(400, "Bad Request: can't parse JSON");
    }
    this.calls.push({ method, params, at: Date.now() });

    const rl = this.rateLimits.get(method);
    if (rl && rl.count > 0) {
      rl.count--;
      return this.err(429, `Too Many Requests: retry after ${rl.retryAfter}`, { retry_after: rl.retryAfter });
    }
    const drops = this.drops.get(method) ?? 0;
    const dropThis = drops > 0;
    if (dropThis) this.drops.set(method, drops - 1);

    switch (method) {
      case "getMe":
        return this.ok({
          id: this.botId,
          is_bot: true,
          first_name: "NGB Test",
          username: this.botUsername,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        });
      case "deleteWebhook":
        this.webhookUrl = "";
        return this.ok(true);
      case "setWebhook":
        this.webhookUrl = String(params.url ?? "");
        this.webhookSecret = String(params.secret_token ?? "");
        return this.ok(true);
      case "getUpdates":
        return this.getUpdates(params, dropThis);
      case "sendMessage":
        return this.sendMessage(params);
      case "sendChatAction":
        if (!params.chat_id) return this.err(400, "Bad Request: chat_id is empty");
        this.chatActions.push({
          chat_id: params.chat_id,
          action: params.action,
          message_thread_id: params.message_thread_id,
        });
        return this.ok(true);
      default:
        return this.err(404, "Not Found: method not found");
    }
  }

  private getUpdates(params: Record<string, unknown>, drop: boolean): Promise<Response> | Response {
    if (this.webhookUrl) {
      return this.err(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    if (this.conflicts > 0) {
      this.conflicts--;
      return this.err(
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      );
    }
    const offset = Number(params.offset ?? 0);
    const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
    const timeout = Math.max(0, Number(params.timeout ?? 0));
    if (offset > 0) this.confirm(offset);
    if (this.waiter) {
      // Telegram terminates the older request when a second poller shows up.
      const old = this.waiter;
      this.waiter = undefined;
      clearTimeout(old.timer);
      old.resolve(
        this.err(
          409,
          "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        ),
      );
    }
    const now = this.available(offset, limit);
    if (now.length > 0 || timeout === 0) return drop ? this.dropped() : this.ok(now);
    return new Promise<Response>((resolve) => {
      const w: Waiter = {
        drop,
        offset,
        limit,
        resolve,
        timer: setTimeout(() => {
          if (this.waiter === w) this.waiter = undefined;
          resolve(drop ? this.dropped() : this.ok([]));
        }, timeout * 1000),
      };
      this.waiter = w;
    });
  }

  private sendMessage(params: Record<string, unknown>): Response {
    const raw = typeof params.text === "string" ? params.text : "";
    let text = raw;
    if (params.parse_mode !== undefined && this.entityRefusals > 0) {
      this.entityRefusals--;
      return this.err(400, "Bad Request: can't parse entities: unsupported start tag at byte offset 0");
    }
    if (params.parse_mode === "HTML") {
      const parsed = parseTelegramHtml(raw);
      if (typeof parsed !== "string")
        return this.err(400, `Bad Request: can't parse entities: ${parsed.error}`);
      text = parsed;
    } else if (params.parse_mode !== undefined) {
      return this.err(400, "Bad Request: unsupported parse_mode in this fake");
    }
    if (!params.chat_id) return this.err(400, "Bad Request: chat_id is empty");
    if (text.length === 0) return this.err(400, "Bad Request: message text is empty");
    if (text.length > 4096) return this.err(400, "Bad Request: message is too long");
    const migratedTo = this.migrated.get(String(params.chat_id));
    if (migratedTo !== undefined) {
      return this.err(400, "Bad Request: group chat was upgraded to a supergroup chat", {
        migrate_to_chat_id: migratedTo,
      });
    }
    if (this.sendFailures > 0) {
      this.sendFailures--;
      return this.err(400, "Bad Request: chat not found");
    }
    const reply = params.reply_parameters as
      | { message_id?: unknown; allow_sending_without_reply?: unknown }
      | undefined;
    if (reply !== undefined) {
      if (typeof reply !== "object" || reply === null || typeof reply.message_id !== "number")
        return this.err(400, 'Bad Request: field "message_id" must be a number');
      const has = this.messages.get(String(params.chat_id))?.has(reply.message_id) === true;
      if (!has && reply.allow_sending_without_reply !== true)
        return this.err(400, "Bad Request: message to be replied not found");
    }
    const messageId = this.nextMessageId++;
    this.remember(params.chat_id as string, messageId);
    const sent: SentMessage = { chat_id: params.chat_id as string, text, message_id: messageId };
    if (params.parse_mode === "HTML") sent.html = raw;
    if (params.message_thread_id !== undefined) sent.message_thread_id = Number(params.message_thread_id);
    if (reply) sent.reply_parameters = reply as SentMessage["reply_parameters"];
    this.sent.push(sent);
    return this.ok({
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: Number(params.chat_id), type: "private", first_name: "Alice" },
      from: { id: this.botId, is_bot: true, first_name: "NGB Test", username: this.botUsername },
      text,
    });
  }
}

const HTML_TAGS = new Set([
  "b",
  "strong",
  "i",
  "em",
  "u",
  "ins",
  "s",
  "strike",
  "del",
  "code",
  "pre",
  "a",
  "blockquote",
  "tg-spoiler",
  "span",
]);

/**
 * Telegram's HTML parse mode, strictly: only its tags, properly nested, `&lt; &gt; &amp; &quot;`
 * (and numeric) entities, no bare `<` or `&`. Returns the visible text or the error.
 */
export function parseTelegramHtml(html: string): string | { error: string } {
  const stack: string[] = [];
  let out = "";
  let i = 0;
  while (i < html.length) {
    const c = html[i]!;
    if (c === "<") {
      const end = html.indexOf(">", i);
      if (end < 0) return { error: `unclosed start tag at byte offset ${i}` };
      const tag = html.slice(i + 1, end);
      const close = /^\/([a-z-]+)$/.exec(tag);
      const open = /^([a-z-]+)(\s+[a-z-]+="[^"]*")*$/.exec(tag);
      if (close) {
        if (stack.pop() !== close[1]) return { error: `unexpected end tag at byte offset ${i}` };
      } else if (open && HTML_TAGS.has(open[1]!)) {
        stack.push(open[1]!);
      } else {
        return { error: `unsupported start tag "${tag}" at byte offset ${i}` };
      }
      i = end + 1;
    } else if (c === "&") {
      const m = /^&(lt|gt|amp|quot|#\d+);/.exec(html.slice(i, i + 12));
      if (!m) return { error: `bad entity at byte offset ${i}` };
      const name = m[1]!;
      out +=
        name === "lt"
          ? "<"
          : name === "gt"
            ? ">"
            : name === "amp"
              ? "&"
              : name === "quot"
                ? '"'
                : String.fromCodePoint(Number(name.slice(1)));
      i += m[0].length;
    } else {
      out += c;
      i++;
    }
  }
  if (stack.length > 0) return { error: `can't find end tag corresponding to start tag "${stack.at(-1)}"` };
  return out;
}

export function createFakeTelegram(options: FakeTelegramOptions = {}): FakeTelegram {
  return new FakeTelegram(options);
}
