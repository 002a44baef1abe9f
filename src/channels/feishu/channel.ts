/**
 * The Feishu/Lark channel: receives over the long connection (default) or the HTTP event
 * subscription, de-duplicates events by `event_id`, stores messages (`feishu:<chat_id>`), discovers
 * chats, and sends replies — Markdown as rich-text posts with a text fallback, split at the body limits,
 * inside the triggering message's thread, each chunk with a `uuid` derived from the reply's
 * idempotency key so Feishu drops a re-send within the hour. "Working" feedback is a reaction on
 * the message being answered (Feishu has no typing indicator for bots).
 */
import type { Hono } from "hono";
import type { Logger } from "../../log/index.ts";
import type { Channel, ChannelSink, ChatInfo, SendOptions } from "../../orchestrator/channel.ts";
import { errorMessage } from "../../util/errors.ts";
import {
  ChannelError,
  createHealth,
  sendChunks,
  sleep,
  type TokenCaches,
  withRateLimitRetry,
} from "../kit/index.ts";
import {
  createFeishuApi,
  FeishuApiError,
  FeishuAuthError,
  type FeishuApi,
  FeishuRateLimitedError,
} from "./api.ts";
import { createSeenIds } from "./dedupe.ts";
import { type BotInfo, FEISHU_PREFIX, FeishuPayloadError, mapEvent, parseEnvelope } from "./events.ts";
import { chunkUuid, planMessages, textContent } from "./format.ts";
import { createWebhookRoutes } from "./webhook.ts";
import { createLongConnection, type LongConnection } from "./ws.ts";

export const FEISHU_BASE_URLS = {
  feishu: "https://open.feishu.cn",
  lark: "https://open.larksuite.com",
} as const;

export interface FeishuConfig {
  /** feishu = open.feishu.cn (China), lark = open.larksuite.com (international). */
  region: "feishu" | "lark";
  /** Overrides the region's base URL (a proxy, or a fake in tests). */
  baseUrl?: string;
  appId?: string;
  appSecret?: string;
  /** websocket = long connection (no public URL needed); webhook = HTTP event subscription. */
  mode: "websocket" | "webhook";
  verificationToken?: string;
  encryptKey?: string;
  webhookPath: string;
  /** auto = Markdown replies as rich-text posts; text = always plain text. */
  format: "auto" | "text";
  /** Reaction shown on the message being answered while the agent works; "" = none. */
  workingReaction: string;
  /** Quote the answered message (reply API) outside threads: in groups only, always, or never. */
  quoteReplies: "groups" | "always" | "never";
}

export interface FeishuChannelOptions {
  config: FeishuConfig;
  assistantName: string;
  log: Logger;
  fetch?: typeof fetch;
  /** The kit's shared token caches (one tenant token per app). */
  tokens?: TokenCaches;
  /** Refusals of bad input, for metrics (reason is a short fixed phrase). */
  onRejected?(reason: string): void;
}

export interface FeishuChannel extends Channel {
  readonly webhooks?: Hono;
  readonly bot: BotInfo | undefined;
  /** The long connection, when in websocket mode (tests drop it). */
  readonly connection: LongConnection | undefined;
}

export class FeishuConfigError extends ChannelError {
  override name = "FeishuConfigError";
  constructor(message: string) {
    super("feishu", "config", message);
  }
}

/** Codes for "this card cannot be rendered" (bad card JSON, > 1 table…): resend as text. */
const RICH_REFUSED = new Set([230001, 230099]);
/** The thread's root message is gone (withdrawn / deleted): post in the chat instead. */
const REPLY_TARGET_GONE = new Set([230011, 230017]);

export function createFeishuChannel(options: FeishuChannelOptions): FeishuChannel {
  const { config } = options;
  const log = options.log.withTag("feishu");
  const baseUrl = config.baseUrl ?? FEISHU_BASE_URLS[config.region];
  const api: FeishuApi = createFeishuApi({
    baseUrl,
    appId: config.appId ?? "",
    appSecret: config.appSecret ?? "",
    fetch: options.fetch,
    tokens: options.tokens,
  });
  const health = createHealth("feishu");
  const seenEvents = createSeenIds(10_000);
  const seenChats = new Set<string>();
  /** 1:1 chats seen (a chat_id does not say whether it is a group). */
  const p2pChats = new Set<string>();
  const quotes = (jid: string) =>
    config.quoteReplies === "always" || (config.quoteReplies === "groups" && !p2pChats.has(jid));
  /** Latest user message per chat: where the "working" reaction goes. */
  const lastInbound = new Map<string, string>();
  const reactions = new Map<string, { messageId: string; reactionId: string }>();
  let sink: ChannelSink | undefined;
  let bot: BotInfo | undefined;
  let abort = new AbortController();

  const rejected = (reason: string) => options.onRejected?.(reason);

  const setStatus = health.set;

  async function identify(): Promise<BotInfo> {
    bot = await api.botInfo();
    return bot;
  }

  function discover(chat: ChatInfo) {
    if (chat.isGroup === false) p2pChats.add(chat.jid);
    if (seenChats.has(chat.jid) && !chat.name) return;
    seenChats.add(chat.jid);
    sink?.discovered(chat);
    if (chat.name || !chat.isGroup) return;
    // Best effort: the event carries no chat name; needs the im:chat:readonly scope.
    const chatId = chat.jid.slice(FEISHU_PREFIX.length);
    api
      .call<{ data?: { name?: unknown } }>("GET", `/open-apis/im/v1/chats/${encodeURIComponent(chatId)}`)
      .then((r) => {
        if (typeof r.data?.name === "string" && r.data.name) sink?.discovered({ ...chat, name: r.data.name });
      })
      .catch((err) => log.debug("chat name lookup failed", { jid: chat.jid, error: errorMessage(err) }));
  }

  /** One decoded event body from either transport. Resolves once stored (or safely ignored). */
  async function handleEvent(body: unknown): Promise<void> {
    let env: ReturnType<typeof parseEnvelope>;
    try {
      env = parseEnvelope(body);
    } catch (err) {
      rejected("bad event");
      log.warn("feishu event refused", { problem: errorMessage(err) });
      return;
    }
    const eventId = env.header.event_id;
    if (seenEvents.has(eventId)) {
      log.debug("duplicate event ignored", { eventId });
      return;
    }
    if (env.header.app_id && config.appId && env.header.app_id !== config.appId) {
      rejected("event for another app");
      log.warn("feishu event for another app refused", { eventId, appId: env.header.app_id });
      return;
    }
    let mapped: ReturnType<typeof mapEvent>;
    try {
      mapped = mapEvent(env, { bot, assistantName: options.assistantName });
    } catch (err) {
      if (!(err instanceof FeishuPayloadError)) throw err;
      rejected("bad event");
      log.warn("feishu event refused", { eventId, problem: err.message });
      seenEvents.add(eventId);
      return;
    }
    if (mapped.kind === "ignored") {
      rejected("unknown event type");
      log.info("feishu event ignored", { eventId, reason: mapped.reason });
      seenEvents.add(eventId);
      return;
    }
    discover(mapped.chat);
    if (mapped.kind === "message") {
      if (!sink) throw new Error("feishu channel is not connected");
      await sink.inbound(mapped.message);
      if (!mapped.message.isBot) lastInbound.set(mapped.message.chatJid, mapped.message.id);
    }
    // Only now: an event that failed to store is processed again when re-pushed.
    seenEvents.add(eventId);
  }

  const connection =
    config.mode === "websocket"
      ? createLongConnection({
          api,
          log,
          onEvent: async (payload) => {
            let body: unknown;
            try {
              body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
            } catch {
              rejected("bad event");
              log.warn("feishu event payload is not UTF-8 JSON; dropped", { bytes: payload.length });
              return;
            }
            await handleEvent(body);
          },
          onState: (state, error) => setStatus({ state, ...(error ? { error } : {}) }),
          onRejected: () => rejected("bad frame"),
        })
      : undefined;

  const routes =
    config.mode === "webhook"
      ? createWebhookRoutes({
          path: config.webhookPath,
          verificationToken: config.verificationToken ?? "",
          ...(config.encryptKey ? { encryptKey: config.encryptKey } : {}),
          log,
          handle: async (body) => {
            if (!sink) throw new Error("feishu channel is not connected");
            await handleEvent(body);
          },
          onRejected: () => rejected("bad webhook request"),
        })
      : undefined;

  function target(jid: string): { type: "chat_id" | "open_id"; id: string } {
    if (!jid.startsWith(FEISHU_PREFIX) || jid.length === FEISHU_PREFIX.length) {
      throw new FeishuConfigError(`not a Feishu chat id: ${jid}`);
    }
    const id = jid.slice(FEISHU_PREFIX.length);
    return { type: id.startsWith("ou_") ? "open_id" : "chat_id", id };
  }

  function configProblem(): string | undefined {
    if (!config.appId) return "channels.feishu.appId is not set";
    if (!config.appSecret) return "channels.feishu.appSecret is not set";
    if (config.mode === "webhook" && !config.verificationToken) {
      return "channels.feishu.verificationToken is required in webhook mode";
    }
    return undefined;
  }

  /** Where a chunk goes: into a thread (reply_in_thread), as a quote reply, or to the chat. */
  type ReplyTarget = { messageId: string; inThread: boolean } | undefined;

  async function deliver(
    to: { type: string; id: string },
    body: { msg_type: string; content: string; uuid?: string },
    replyTo: ReplyTarget,
  ): Promise<void> {
    const once = (maxRetries?: number) =>
      withRateLimitRetry(
        () =>
          replyTo
            ? api.reply(
                replyTo.messageId,
                { ...body, ...(replyTo.inThread ? { reply_in_thread: true } : {}) },
                abort.signal,
              )
            : api.send(to.type, to.id, body, abort.signal),
        {
          signal: abort.signal,
          ...(maxRetries !== undefined ? { maxRetries } : {}),
          onWait: (err, attempt) =>
            log.warn("send rate limited", { retryAfterMs: err.retryAfterMs, attempt }),
        },
      );
    if (!replyTo) return void (await once());
    try {
      // 230020 is "frequency limit" in the API's error table, but the official SDK reads it as
      // "target revoked": on a reply, wait it out twice, then post in the chat instead.
      await once(2);
    } catch (err) {
      const gone = err instanceof FeishuApiError && REPLY_TARGET_GONE.has(err.code);
      const ambiguous = err instanceof FeishuRateLimitedError && err.code === 230020;
      if (!gone && !ambiguous) throw err;
      log.warn("cannot reply to the message; posting in the chat", { code: (err as { code?: number }).code });
      replyTo = undefined;
      await once();
    }
  }

  return {
    name: "feishu",
    webhooks: routes,
    get bot() {
      return bot;
    },
    connection,
    ownsJid(jid) {
      return jid.startsWith(FEISHU_PREFIX);
    },
    async connect(s) {
      sink = s;
      health.attach(s);
      const problem = configProblem();
      if (problem) {
        setStatus({ state: "error", error: problem });
        throw new FeishuConfigError(problem);
      }
      abort = new AbortController();
      setStatus({ state: "connecting" });
      try {
        await identify();
      } catch (err) {
        if (err instanceof FeishuAuthError) {
          setStatus({ state: "error", error: err.message });
          throw err;
        }
        // Without the bot's open_id mentions can't be recognised yet; keep trying in the background.
        log.warn("bot info unavailable; retrying in the background", { error: errorMessage(err) });
        const signal = abort.signal;
        const retry = async () => {
          for (let i = 0; i < 20 && !bot && !signal.aborted; i++) {
            await sleep(Math.min(60_000, 1_000 * 2 ** i), signal);
            if (!signal.aborted) await identify().catch(() => {});
          }
        };
        void retry();
      }
      if (connection) {
        connection.start();
        log.info("long connection starting", { baseUrl, bot: bot?.name });
      } else {
        setStatus({ state: "connected" });
        log.info("webhook mode", { path: config.webhookPath, bot: bot?.name });
      }
    },
    async disconnect() {
      abort.abort();
      await connection?.stop();
      setStatus({ state: "disconnected" });
    },
    // Feishu sends at most one message per `uuid` within an hour.
    dedupesSends: true,
    async send(jid, text, sendOptions: SendOptions = {}) {
      const to = target(jid);
      const key = sendOptions.idempotencyKey;
      const planned = planMessages(text, config.format);
      await sendChunks(
        "feishu",
        planned.map((p) => p.text),
        sendOptions,
        async (_chunk, i) => {
          const p = planned[i]!;
          // A thread gets every chunk; a quote reply is the first chunk only (as the SDK does).
          const replyTo: ReplyTarget = sendOptions.threadId
            ? { messageId: sendOptions.threadId, inThread: true }
            : i === 0 && sendOptions.replyToId && quotes(jid)
              ? { messageId: sendOptions.replyToId, inThread: false }
              : undefined;
          const uuid = key ? chunkUuid(key, i) : undefined;
          const body = { msg_type: p.msgType, content: p.content, ...(uuid ? { uuid } : {}) };
          try {
            await deliver(to, body, replyTo);
          } catch (err) {
            if (!(p.msgType === "post" && err instanceof FeishuApiError && RICH_REFUSED.has(err.code)))
              throw err;
            log.warn("feishu refused the rich text; sending as plain text", { jid, code: err.code });
            // Nothing was sent under this uuid, so the text may reuse it.
            await deliver(to, { ...body, msg_type: "text", content: textContent(p.text) }, replyTo);
          }
        },
      );
    },
    async setTyping(jid, on) {
      if (!config.workingReaction) return;
      try {
        const current = reactions.get(jid);
        if (current) {
          reactions.delete(jid);
          await api.call(
            "DELETE",
            `/open-apis/im/v1/messages/${encodeURIComponent(current.messageId)}/reactions/${encodeURIComponent(current.reactionId)}`,
          );
        }
        const messageId = lastInbound.get(jid);
        if (!on || !messageId) return;
        const r = await api.call<{ data?: { reaction_id?: unknown } }>(
          "POST",
          `/open-apis/im/v1/messages/${encodeURIComponent(messageId)}/reactions`,
          { reaction_type: { emoji_type: config.workingReaction } },
        );
        if (typeof r.data?.reaction_id === "string")
          reactions.set(jid, { messageId, reactionId: r.data.reaction_id });
      } catch (err) {
        log.debug("working reaction failed", { jid, error: errorMessage(err) });
      }
    },
    health() {
      return health.snapshot();
    },
    async verify() {
      const problem = configProblem();
      if (problem) return { ok: false, detail: problem };
      try {
        const b = await identify();
        return { ok: true, detail: `bot ${b.name ?? b.openId} (${baseUrl})` };
      } catch (err) {
        if (err instanceof FeishuAuthError || err instanceof FeishuApiError)
          return { ok: false, detail: err.message };
        return { ok: false, detail: `cannot reach ${baseUrl}: ${errorMessage(err)}` };
      }
    },
  };
}
