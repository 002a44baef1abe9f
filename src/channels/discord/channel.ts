/**
 * The Discord channel: the gateway for receiving (MESSAGE_CREATE → store, GUILD_CREATE /
 * CHANNEL_CREATE → discovery) and REST for sending (split to 2,000 characters, 429s waited
 * out) and typing. Chats are `dc:<channel id>`; a thread is its own channel id.
 *
 * Every chunk carries a `nonce`: derived from the reply's idempotency key with `enforce_nonce`,
 * so a re-send after a lost answer or a crash does not post twice (Discord answers with the
 * message it already has). Discord echoes our posts back as MESSAGE_CREATE; an echo carrying a
 * nonce this process sent is skipped (delivery stored the reply), any other post by the bot is
 * stored as ours (isFromMe + isBot), never agent input. A reply references the message it
 * answers (`message_reference`) unless `replyReference` is off.
 */
import { GatewayDispatchEvents } from "discord-api-types/v10";
import * as v from "valibot";
import type { Logger } from "../../log/index.ts";
import type { Channel, ChannelSink, ChannelStatusUpdate, SendOptions } from "../../orchestrator/channel.ts";
import { errorMessage } from "../../util/errors.ts";
import { type BackoffOptions, withRateLimitRetry } from "../kit/backoff.ts";
import { createOwnPosts } from "../kit/authorship.ts";
import { MESSAGE_LIMITS, splitMessage } from "../kit/chunk.ts";
import { ChannelError } from "../kit/errors.ts";
import { createHealth } from "../kit/health.ts";
import { chunkKey, sendChunks } from "../kit/send.ts";
import { createGateway, type Gateway } from "./gateway.ts";
import {
  type BotUser,
  createdChat,
  DC_PREFIX,
  DcChannelCreate,
  DcGuildCreate,
  DcMessage,
  dcJid,
  guildChats,
  toInbound,
} from "./map.ts";
import { createDiscordRest, DiscordApiError, type DiscordRest } from "./api.ts";
import { createTypingRefresher } from "../kit/typing.ts";

export interface DiscordConfig {
  apiBaseUrl: string;
  gatewayUrl: string;
  botToken?: string;
  /** Reference the answered message in a reply (default true). */
  replyReference?: boolean;
}

export interface DiscordChannelOptions {
  config: DiscordConfig;
  log: Logger;
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
  backoff?: BackoffOptions;
  invalidSessionDelayMs?: [number, number];
  /** Shown instead of the raw `<@bot id>` tag in stored content (e.g. "Andy"). */
  assistantName?: string;
  /** Typing refresh period (Discord shows it for ~10 s). Default 8 s. */
  typingRefreshMs?: number;
  random?: () => number;
}

export interface DiscordChannel extends Channel {
  readonly bot: BotUser | undefined;
  /** The gateway (tests inspect seq / session). */
  readonly gateway: Gateway | undefined;
}

/** A setting is missing (kind config), or a chat id is not one of ours (kind refused: bad input). */
export class DiscordConfigError extends ChannelError {
  override name = "DiscordConfigError";
  constructor(message: string, kind: "config" | "refused" = "config") {
    super("discord", kind, message);
  }
}

/** Discord allows nonces of at most 25 characters. */
const NONCE_LENGTH = 25;

function describeIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return "invalid";
  const path = issue.path?.map((p) => String(p.key)).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}

export function createDiscordChannel(options: DiscordChannelOptions): DiscordChannel {
  const { config } = options;
  const log = options.log.withTag("discord");
  const token = config.botToken ?? "";
  const rest: DiscordRest = createDiscordRest({ baseUrl: config.apiBaseUrl, token, fetch: options.fetch });
  const typingRefreshMs = options.typingRefreshMs ?? 8_000;
  const health = createHealth("discord");
  const ownPosts = createOwnPosts();
  const replyReference = config.replyReference ?? true;
  const typing = createTypingRefresher({
    refreshMs: typingRefreshMs,
    send: async (jid) => {
      try {
        await rest.request("POST", `/channels/${channelId(jid)}/typing`, undefined, { signal: abort.signal });
      } catch (err) {
        log.debug("typing failed", { jid, error: errorMessage(err) });
      }
    },
  });
  const seenChats = new Set<string>();
  let sink: ChannelSink | undefined;
  let bot: BotUser | undefined;
  let gateway: Gateway | undefined;
  let abort = new AbortController();

  const setStatus = (update: ChannelStatusUpdate) => health.set(update);

  function discover(chat: { jid: string; name?: string; isGroup?: boolean }) {
    if (seenChats.has(chat.jid) && !chat.name) return;
    seenChats.add(chat.jid);
    sink?.discovered(chat);
  }

  async function onDispatch(event: string, data: unknown): Promise<void> {
    switch (event) {
      case GatewayDispatchEvents.MessageCreate: {
        const parsed = v.safeParse(DcMessage, data);
        if (!parsed.success) {
          log.warn("ignored malformed MESSAGE_CREATE", { problem: describeIssue(parsed.issues) });
          return;
        }
        const m = parsed.output;
        if (bot && m.author.id === bot.id && m.nonce !== undefined && ownPosts.consume(String(m.nonce))) {
          log.debug("echo of our own post skipped", { id: m.id });
          return;
        }
        if (!seenChats.has(dcJid(m.channel_id))) {
          discover(
            m.guild_id
              ? { jid: dcJid(m.channel_id), isGroup: true }
              : { jid: dcJid(m.channel_id), name: m.author.global_name || m.author.username, isGroup: false },
          );
        }
        const inbound = toInbound(m, bot, options.assistantName);
        if (inbound && sink) await sink.inbound(inbound);
        return;
      }
      case GatewayDispatchEvents.GuildCreate: {
        const parsed = v.safeParse(DcGuildCreate, data);
        if (!parsed.success) {
          log.warn("ignored malformed GUILD_CREATE", { problem: describeIssue(parsed.issues) });
          return;
        }
        for (const chat of guildChats(parsed.output)) discover(chat);
        return;
      }
      case GatewayDispatchEvents.ChannelCreate:
      case GatewayDispatchEvents.ThreadCreate: {
        const parsed = v.safeParse(DcChannelCreate, data);
        if (!parsed.success) {
          log.warn(`ignored malformed ${event}`, { problem: describeIssue(parsed.issues) });
          return;
        }
        const chat = createdChat(parsed.output);
        if (chat) discover(chat);
        return;
      }
      default:
        return;
    }
  }

  function channelId(jid: string): string {
    const id = jid.startsWith(DC_PREFIX) ? jid.slice(DC_PREFIX.length) : "";
    if (!/^\d{1,25}$/.test(id)) throw new DiscordConfigError(`not a Discord chat id: ${jid}`, "refused");
    return id;
  }

  return {
    name: "discord",
    get bot() {
      return bot;
    },
    get gateway() {
      return gateway;
    },
    dedupesSends: true,
    ownsJid(jid) {
      return jid.startsWith(DC_PREFIX);
    },
    async connect(s) {
      sink = s;
      health.attach(s);
      if (!token) {
        const problem = "channels.discord.botToken is not set";
        setStatus({ state: "error", error: problem });
        throw new DiscordConfigError(problem);
      }
      abort = new AbortController();
      setStatus({ state: "connecting" });
      gateway = createGateway({
        url: config.gatewayUrl,
        token,
        log,
        WebSocket: options.WebSocket,
        backoff: options.backoff,
        invalidSessionDelayMs: options.invalidSessionDelayMs,
        random: options.random,
        onDispatch,
        onReady: (info) => {
          bot = { id: info.userId, username: info.username };
        },
        onStatus: (state, error) => setStatus(error ? { state, error } : { state }),
      });
      gateway.start();
    },
    async disconnect() {
      abort.abort();
      typing.stopAll();
      await gateway?.stop();
      setStatus({ state: "disconnected" });
    },
    async send(jid, text, sendOptions: SendOptions = {}) {
      const target = sendOptions.threadId ? channelId(`${DC_PREFIX}${sendOptions.threadId}`) : channelId(jid);
      const reference =
        replyReference && sendOptions.replyToId && /^\d{1,25}$/.test(sendOptions.replyToId)
          ? sendOptions.replyToId
          : undefined;
      const key = sendOptions.idempotencyKey;
      await sendChunks(
        "discord",
        splitMessage(text, MESSAGE_LIMITS.discord),
        sendOptions,
        async (chunk, index) => {
          // With a stable key the nonce is the same on every re-send and Discord enforces it;
          // without one a random nonce still lets us recognise the echo.
          const nonce = key
            ? chunkKey(key, index, NONCE_LENGTH)
            : crypto.randomUUID().replace(/-/g, "").slice(0, NONCE_LENGTH);
          const body = {
            content: chunk,
            nonce,
            ...(key ? { enforce_nonce: true } : {}),
            allowed_mentions: { parse: ["users"] },
            ...(index === 0 && reference
              ? { message_reference: { message_id: reference, fail_if_not_exists: false } }
              : {}),
          };
          ownPosts.note(nonce);
          await withRateLimitRetry(() => rest.request("POST", `/channels/${target}/messages`, body), {
            signal: abort.signal,
            onWait: (err, attempt) =>
              log.warn("send rate limited", { jid, retryAfterMs: err.retryAfterMs, attempt }),
          });
        },
      );
    },
    async setTyping(jid, on) {
      typing.stop(jid);
      if (on) await typing.start(jid);
    },
    health: () => health.snapshot(),
    async verify() {
      if (!token) return { ok: false, detail: "channels.discord.botToken is not set" };
      try {
        const me = await rest.request<{ id: string; username: string }>("GET", "/users/@me");
        return { ok: true, detail: `bot ${me.username} (${me.id})` };
      } catch (err) {
        if (err instanceof DiscordApiError) return { ok: false, detail: err.message };
        return { ok: false, detail: `cannot reach ${config.apiBaseUrl}: ${errorMessage(err)}` };
      }
    },
  };
}
