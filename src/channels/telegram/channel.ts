/**
 * The Telegram channel: long polling (`deleteWebhook`, then `getUpdates` with an offset that
 * advances only once the store has each update) or webhook mode (a Hono route verifying the
 * secret token), sending split to 4,096 characters with flood control honoured, and typing.
 *
 * One error boundary around the poll loop: 409 "terminated by other getUpdates request" right
 * after a restart (our own killed process's poll still open at Telegram) is retried quickly
 * (1 s, 2 s, 4 s, then every 5 s) and only after ~30 s of conflicts treated as another instance;
 * a 409 because a webhook is set is reported and waited out for a long time; 429 waits
 * `retry_after`; network failures back off exponentially with jitter; a bad token stops the loop.
 *
 * Replies go to the forum topic of the message they answer (`message_thread_id`) and, in groups,
 * quote it (`reply_parameters`, `allow_sending_without_reply` so a deleted original does not
 * fail the send); `quoteReplies` = "groups" (default) | "always" | "never".
 */
import { safeEqual } from "../../util/crypto.ts";
import { Hono } from "hono";
import * as v from "valibot";
import type { Logger } from "../../log/index.ts";
import type { Channel, ChannelSink, ChannelStatusUpdate, SendOptions } from "../../orchestrator/channel.ts";
import { errorMessage } from "../../util/errors.ts";
import {
  type BackoffOptions,
  createBackoff,
  RateLimitedError,
  sleep,
  withRateLimitRetry,
} from "../kit/backoff.ts";
import { MESSAGE_LIMITS, splitMessage } from "../kit/chunk.ts";
import { ChannelError } from "../kit/errors.ts";
import { createHealth } from "../kit/health.ts";
import { sendChunks } from "../kit/send.ts";
import {
  createTelegramApi,
  TelegramApiError,
  TelegramAuthError,
  TelegramConflictError,
  type TelegramApi,
} from "./api.ts";
import { isEntityParseError, markdownToTelegramHtml } from "./format.ts";
import { type BotIdentity, chatInfo, describeIssue, mapUpdate, TG_PREFIX, TgUpdate } from "./map.ts";
import { createTypingRefresher } from "../kit/typing.ts";

export interface TelegramConfig {
  apiBaseUrl: string;
  botToken?: string;
  mode: "polling" | "webhook";
  webhookSecret?: string;
  webhookPath: string;
  /** Public base URL; when set, webhook mode registers `webhookUrl + webhookPath` with setWebhook. */
  webhookUrl?: string;
  pollTimeoutSec: number;
  /** Quote the answered message: in groups only (default), always, or never. */
  quoteReplies?: "groups" | "always" | "never";
}

export interface TelegramChannelOptions {
  config: TelegramConfig;
  log: Logger;
  fetch?: typeof fetch;
  /** Reconnect pacing after network errors. */
  backoff?: BackoffOptions;
  /** How long to wait after a lasting 409 Conflict (a webhook, another instance). Default 60 s. */
  conflictBackoffMs?: number;
  /**
   * Waits after a 409 "terminated by other getUpdates request" (our previous process's poll):
   * one entry per attempt, the last repeated. Default 1 s, 2 s, 4 s, 5 s…
   */
  conflictRetryMs?: readonly number[];
  /** After this long in conflict, it is another instance: wait `conflictBackoffMs`. Default 30 s. */
  conflictGraceMs?: number;
  /** Outgoing text: Markdown rendered as Telegram HTML (default), or sent as plain text. */
  format?: "html" | "plain";
  /** Typing indicator refresh period (Telegram shows it for ~5 s). Default 4 s. */
  typingRefreshMs?: number;
}

export const ALLOWED_UPDATES = ["message", "channel_post", "my_chat_member"] as const;

export interface TelegramChannel extends Channel {
  /** Webhook mode: the route to mount on the web server (POST webhookPath). */
  readonly webhooks?: Hono;
  /** The bot's identity once known (after connect / verify). */
  readonly bot: BotIdentity | undefined;
}

/** A setting is missing (kind config), or a chat id is not one of ours (kind refused: bad input). */
export class TelegramConfigError extends ChannelError {
  override name = "TelegramConfigError";
  constructor(message: string, kind: "config" | "refused" = "config") {
    super("telegram", kind, message);
  }
}

export function createTelegramChannel(options: TelegramChannelOptions): TelegramChannel {
  const { config } = options;
  const log = options.log.withTag("telegram");
  const token = config.botToken ?? "";
  const api: TelegramApi = createTelegramApi({
    baseUrl: config.apiBaseUrl,
    token,
    fetch: options.fetch,
  });
  const conflictBackoffMs = options.conflictBackoffMs ?? 60_000;
  const conflictRetryMs = options.conflictRetryMs ?? [1_000, 2_000, 4_000, 5_000];
  const conflictGraceMs = options.conflictGraceMs ?? 30_000;
  const quote = config.quoteReplies ?? "groups";
  const typingRefreshMs = options.typingRefreshMs ?? 4_000;
  const formatHtml = (options.format ?? "html") === "html";

  let sink: ChannelSink | undefined;
  let bot: BotIdentity | undefined;
  let abort = new AbortController();
  let loop: Promise<void> | undefined;
  let offset: number | undefined;
  const seenChats = new Set<string>();
  const typing = createTypingRefresher({ refreshMs: typingRefreshMs, send: (jid) => sendTyping(jid) });
  const health = createHealth("telegram");
  const setStatus = (update: ChannelStatusUpdate) => health.set(update);

  async function identify(signal?: AbortSignal): Promise<BotIdentity> {
    const me = await api.call("getMe", undefined, { signal });
    bot = { id: me.id, username: me.username };
    return bot;
  }

  /**
   * Handle one raw update: validate, map, store. Resolves once stored (or skipped as bad);
   * rejects only when the sink fails, so the caller must not confirm the update.
   */
  async function handleUpdate(raw: unknown): Promise<void> {
    const parsed = v.safeParse(TgUpdate, raw);
    if (!parsed.success) {
      const id = (raw as { update_id?: unknown } | null)?.update_id;
      log.warn("ignored malformed update", { updateId: id, problem: describeIssue(parsed.issues) });
      return;
    }
    const mapped = mapUpdate(parsed.output, bot ?? { id: 0 });
    const m = parsed.output.message ?? parsed.output.channel_post;
    if (m) {
      const info = chatInfo(m.chat);
      if (!seenChats.has(info.jid)) {
        seenChats.add(info.jid);
        sink?.discovered(info);
      }
    }
    if (mapped.discovered) sink?.discovered(mapped.discovered);
    if (mapped.message && sink) await sink.inbound(mapped.message);
  }

  async function pollLoop(signal: AbortSignal): Promise<void> {
    const backoff = createBackoff(options.backoff);
    let webhookCleared = false;
    /** Since when getUpdates has been in conflict with another poller, and how often. */
    let conflict: { since: number; attempts: number } | undefined;
    while (!signal.aborted) {
      try {
        if (!bot) await identify(signal);
        if (!webhookCleared) {
          await api.call("deleteWebhook", { drop_pending_updates: false }, { signal });
          webhookCleared = true;
          // Token accepted and API reachable: a long poll that then waits is a healthy one.
          if (!conflict) setStatus({ state: "connected" });
        }
        const updates = await api.call(
          "getUpdates",
          { offset, timeout: config.pollTimeoutSec, allowed_updates: [...ALLOWED_UPDATES] },
          { signal, timeoutMs: config.pollTimeoutSec * 1000 + 15_000 },
        );
        if (conflict) log.info("getUpdates conflict resolved", { afterMs: Date.now() - conflict.since });
        conflict = undefined;
        setStatus({ state: "connected" });
        backoff.reset();
        if (!Array.isArray(updates)) throw new Error("getUpdates answered with something that is not a list");
        for (const u of updates as unknown[]) {
          if (signal.aborted) return;
          const id = (u as { update_id?: unknown } | null)?.update_id;
          await handleUpdate(u);
          // Confirm only what the store has; an update without a usable id can't be confirmed
          // individually and is skipped past by the next one's id.
          if (typeof id === "number" && Number.isInteger(id)) offset = Math.max(offset ?? 0, id + 1);
        }
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof TelegramAuthError) {
          setStatus({ state: "error", error: err.message });
          log.error(err.message);
          return;
        }
        if (err instanceof TelegramConflictError) {
          const now = Date.now();
          conflict ??= { since: now, attempts: 0 };
          conflict.attempts++;
          // Right after a restart the poll of our own killed process may still be open at
          // Telegram: retry quickly. Conflicts that last (or a webhook) are another receiver.
          const quick = err.byOtherPoller && now - conflict.since < conflictGraceMs;
          const wait = quick
            ? conflictRetryMs[Math.min(conflict.attempts - 1, conflictRetryMs.length - 1)]!
            : conflictBackoffMs;
          const msg = `another bot instance is polling this token (or a webhook is set): ${err.description}; ${
            quick
              ? "retrying (if it is this bot's previous process, this passes in seconds)"
              : "stop the other instance"
          }. Retrying in ${Math.max(1, Math.round(wait / 1000))} s`;
          if (conflict.attempts === 1 || !quick) {
            setStatus({ state: "error", error: msg });
            if (quick) log.warn(msg);
            else log.error(msg);
          } else log.debug("getUpdates conflict, retrying", { attempt: conflict.attempts, waitMs: wait });
          // Not deleting the webhook again: whoever set it is another receiver; don't fight it.
          await sleep(wait, signal);
          continue;
        }
        if (err instanceof RateLimitedError) {
          log.warn("rate limited", { retryAfterMs: err.retryAfterMs });
          await sleep(err.retryAfterMs, signal);
          continue;
        }
        const delay = backoff.next();
        const msg = errorMessage(err);
        setStatus({ state: "error", error: msg });
        log.warn("poll failed, retrying", { error: msg, retryInMs: delay, attempt: backoff.attempts });
        await sleep(delay, signal);
      }
    }
  }

  function webhookRoutes(): Hono {
    const app = new Hono();
    const expected = config.webhookSecret ?? "";
    app.post(config.webhookPath, async (c) => {
      const given = c.req.header("x-telegram-bot-api-secret-token") ?? "";
      if (expected.length === 0 || !safeEqual(given, expected)) {
        log.warn("webhook call with a wrong secret token refused");
        return c.json({ ok: false, error: "forbidden" }, 403);
      }
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        log.warn("webhook body is not JSON; ignored");
        return c.json({ ok: true });
      }
      if (!sink) return c.json({ ok: false, error: "not connected" }, 503);
      try {
        await handleUpdate(body);
      } catch (err) {
        // Non-2xx makes Telegram redeliver the update later.
        log.error("storing webhook update failed", { error: errorMessage(err) });
        return c.json({ ok: false, error: "store failed" }, 500);
      }
      return c.json({ ok: true });
    });
    return app;
  }

  const routes = config.mode === "webhook" ? webhookRoutes() : undefined;

  function parseJid(jid: string): string {
    if (!jid.startsWith(TG_PREFIX) || jid.length === TG_PREFIX.length) {
      throw new TelegramConfigError(`not a Telegram chat id: ${jid}`, "refused");
    }
    return jid.slice(TG_PREFIX.length);
  }

  async function sendTyping(jid: string, threadId?: string) {
    try {
      await api.call("sendChatAction", {
        chat_id: parseJid(jid),
        action: "typing",
        ...(threadId ? { message_thread_id: Number(threadId) } : {}),
      });
    } catch (err) {
      log.debug("typing failed", { jid, error: errorMessage(err) });
    }
  }

  return {
    name: "telegram",
    webhooks: routes,
    get bot() {
      return bot;
    },
    ownsJid(jid) {
      return jid.startsWith(TG_PREFIX);
    },
    async connect(s) {
      sink = s;
      health.attach(s);
      const problem = !token
        ? "channels.telegram.botToken is not set"
        : config.mode === "webhook" && !config.webhookSecret
          ? "channels.telegram.webhookSecret is required in webhook mode"
          : undefined;
      if (problem) {
        setStatus({ state: "error", error: problem });
        throw new TelegramConfigError(problem);
      }
      abort = new AbortController();
      setStatus({ state: "connecting" });
      try {
        await identify(abort.signal);
      } catch (err) {
        if (err instanceof TelegramAuthError) {
          setStatus({ state: "error", error: err.message });
          throw err;
        }
        // Network trouble at start: the loop keeps trying.
        log.warn("getMe failed; will retry", { error: errorMessage(err) });
      }
      if (config.mode === "webhook") {
        if (config.webhookUrl) {
          const url = `${config.webhookUrl.replace(/\/+$/, "")}${config.webhookPath}`;
          try {
            await api.call(
              "setWebhook",
              { url, secret_token: config.webhookSecret, drop_pending_updates: false },
              { signal: abort.signal },
            );
            log.info("webhook registered", { url });
          } catch (err) {
            // Telegram keeps redelivering to the old webhook (or none): say so loudly.
            setStatus({ state: "error", error: `setWebhook failed: ${errorMessage(err)}` });
            log.error("webhook registration failed", { url, error: errorMessage(err) });
            return;
          }
        } else {
          log.info("webhook mode: register the webhook with Telegram yourself, or set webhookUrl", {
            path: config.webhookPath,
          });
        }
        setStatus({ state: "connected" });
        log.info("webhook mode", { path: config.webhookPath, bot: bot?.username });
        return;
      }
      loop = pollLoop(abort.signal).catch((err) => {
        setStatus({ state: "error", error: errorMessage(err) });
        log.error("poll loop ended", { error: errorMessage(err) });
      });
      log.info("polling", { bot: bot?.username, timeoutSec: config.pollTimeoutSec });
    },
    async disconnect() {
      abort.abort();
      typing.stopAll();
      await loop;
      loop = undefined;
      setStatus({ state: "disconnected" });
    },
    async send(jid, text, sendOptions: SendOptions = {}) {
      let chatId = parseJid(jid);
      const chunks = splitMessage(text, MESSAGE_LIMITS.telegram);
      // Telegram chat ids: users are positive, groups, supergroups and channels negative.
      const quoting =
        sendOptions.replyToId !== undefined &&
        /^\d{1,10}$/.test(sendOptions.replyToId) &&
        (quote === "always" || (quote === "groups" && chatId.startsWith("-")));
      await sendChunks("telegram", chunks, sendOptions, async (chunk, index) => {
        const base = {
          text: chunk,
          ...(sendOptions.threadId ? { message_thread_id: Number(sendOptions.threadId) } : {}),
          ...(quoting && index === 0
            ? {
                reply_parameters: {
                  message_id: Number(sendOptions.replyToId),
                  allow_sending_without_reply: true,
                },
              }
            : {}),
        };
        const post = (params: typeof base & { chat_id: string; parse_mode?: "HTML" }) =>
          withRateLimitRetry(() => api.call("sendMessage", params), {
            signal: abort.signal,
            onWait: (err, attempt) =>
              log.warn("send rate limited", { jid, retryAfterMs: err.retryAfterMs, attempt }),
          });
        const attempt = async () => {
          if (!formatHtml) return post({ ...base, chat_id: chatId });
          try {
            return await post({
              ...base,
              chat_id: chatId,
              text: markdownToTelegramHtml(chunk),
              parse_mode: "HTML",
            });
          } catch (err) {
            if (!(err instanceof TelegramApiError) || !isEntityParseError(err.description)) throw err;
            log.warn("telegram refused the formatting; sending as plain text", {
              jid,
              error: err.description,
            });
            return post({ ...base, chat_id: chatId });
          }
        };
        try {
          await attempt();
        } catch (err) {
          const to = err instanceof TelegramApiError ? err.migrateToChatId : undefined;
          if (to === undefined) throw err;
          // The group became a supergroup with a new id: deliver there, and say so.
          log.warn("chat was upgraded to a supergroup; register the new chat id", {
            jid,
            newJid: `${TG_PREFIX}${to}`,
          });
          sink?.discovered({ jid: `${TG_PREFIX}${to}`, isGroup: true });
          chatId = String(to);
          await attempt();
        }
      });
    },
    async setTyping(jid, on) {
      typing.stop(jid);
      if (on) await typing.start(jid);
    },
    health: () => health.snapshot(),
    async verify() {
      if (!token) return { ok: false, detail: "channels.telegram.botToken is not set" };
      try {
        const me = await identify();
        return { ok: true, detail: `bot @${me.username ?? me.id}` };
      } catch (err) {
        if (err instanceof TelegramApiError) return { ok: false, detail: err.message };
        return { ok: false, detail: `cannot reach ${config.apiBaseUrl}: ${errorMessage(err)}` };
      }
    },
  };
}
