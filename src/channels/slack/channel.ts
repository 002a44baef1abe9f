/**
 * The Slack channel: Socket Mode for receiving (no public URL needed), Web API for sending.
 * Chats are `slack:<channel id>`; a message inside a thread carries threadId = thread_ts and a
 * reply with that threadId goes back into the thread.
 *
 * Threads: a reply to a top-level message is posted in a thread under it (Slack's bot
 * convention) in channels and private channels, and at top level in DMs (D…). `replyInThread:
 * false` posts every such reply at top level; `threadChannels` overrides per Slack channel id
 * (`{ "C0123": false, "D0456": true }`). A message already inside a thread is always answered
 * in its thread.
 *
 * Sender names come from users.info (scope users:read), cached per user; a failed lookup is
 * logged once for that user and the id is shown instead.
 */
import * as v from "valibot";
import type { Logger } from "../../log/index.ts";
import type { Channel, ChannelSink, ChannelStatusUpdate, SendOptions } from "../../orchestrator/channel.ts";
import { createBackoff, type BackoffOptions, withRateLimitRetry } from "../kit/backoff.ts";
import { createOwnPosts } from "../kit/authorship.ts";
import { splitMessage } from "../kit/chunk.ts";
import { ChannelError } from "../kit/errors.ts";
import { createHealth } from "../kit/health.ts";
import { sendChunks } from "../kit/send.ts";
import {
  describeIssues,
  EventCallback,
  MemberJoinedChannel,
  MessageEvent,
  mapMessageEvent,
  type SocketFrame,
  unescapeSlack,
} from "./map.ts";
import { createSocketModeClient, type SocketModeClient } from "./socket.ts";
import { createSlackWebApi, SlackApiError } from "./api.ts";

/** Slack's recommended maximum for one message's text. */
export const SLACK_TEXT_LIMIT = 4_000;

export interface SlackChannelOptions {
  apiBaseUrl: string;
  botToken?: string;
  appToken?: string;
  assistantName: string;
  log: Logger;
  fetch?: typeof fetch;
  /** Reconnect pacing (tests shorten it). */
  backoff?: BackoffOptions;
  /** Socket liveness ping interval (zombie detection after two silent intervals). Default 10 s. */
  pingIntervalMs?: number;
  /** Give up on a rate-limited send after this many waits. Default 5. */
  maxRateLimitRetries?: number;
  /** Post a reply to a top-level message in a thread under it (default true; DMs excepted). */
  replyInThread?: boolean;
  /** Per Slack channel id: thread replies there (true) or not (false), overriding the default. */
  threadChannels?: Readonly<Record<string, boolean>>;
}

const RECENT_IDS = 2_000;

export function createSlackChannel(opts: SlackChannelOptions): Channel {
  const log = opts.log.withTag("slack");
  const api = createSlackWebApi({ baseUrl: opts.apiBaseUrl, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  const health = createHealth("slack");
  let sink: ChannelSink | null = null;
  let client: SocketModeClient | null = null;
  let botUserId: string | null = null;
  let botId: string | undefined;
  /** Recently stored ids ("C123:ts"): skips the second of message + app_mention cheaply. */
  const recent = new Set<string>();
  /**
   * Texts we posted recently, by "channel\ntext": Slack echoes each post back as a message
   * event, and the delivery layer already stored the reply, so the echo is skipped. Keyed by
   * text (not ts) because the echo can arrive before chat.postMessage's answer.
   */
  const ownPosts = createOwnPosts();
  /** users.info results (display names); null = lookup failed, don't retry every message. */
  const names = new Map<string, string | null>();
  /** Users whose lookup failure was logged (once each). */
  const nameWarned = new Set<string>();
  let namesDisabled = false;
  const replyInThread = opts.replyInThread ?? true;
  const threadChannels = opts.threadChannels ?? {};

  function setStatus(state: ChannelStatusUpdate["state"], error?: string) {
    health.set({ state, ...(error ? { error } : {}) });
  }

  /** Whether a reply to a top-level message in `channel` goes into a thread under it. */
  function threads(channel: string): boolean {
    return threadChannels[channel] ?? (replyInThread && !channel.startsWith("D"));
  }

  function requireToken(kind: "botToken" | "appToken"): string {
    const token = opts[kind];
    if (!token) throw new SlackConfigError(kind);
    return token;
  }

  async function authTest() {
    const res = await api.call("auth.test", requireToken("botToken"));
    botUserId = typeof res.user_id === "string" ? res.user_id : null;
    botId = typeof res.bot_id === "string" ? res.bot_id : undefined;
    if (!botUserId) throw new SlackApiError("auth.test", "no_user_id");
    return res;
  }

  async function senderName(userId: string): Promise<string> {
    if (namesDisabled) return userId;
    const cached = names.get(userId);
    if (cached !== undefined) return cached ?? userId;
    try {
      // Inbound waits for this (the ack follows the store), so keep it short.
      const res = await api.call(
        "users.info",
        requireToken("botToken"),
        { user: userId },
        { timeoutMs: 3_000 },
      );
      const user = res.user as
        | { name?: string; real_name?: string; profile?: { display_name?: string; real_name?: string } }
        | undefined;
      const name = user?.profile?.display_name || user?.profile?.real_name || user?.real_name || user?.name;
      names.set(userId, name ?? null);
      return name ?? userId;
    } catch (err) {
      if (err instanceof SlackApiError && err.code === "missing_scope") {
        namesDisabled = true;
        log.warn("users.info needs the users:read scope; senders shown by id");
        return userId;
      }
      // A refusal is cached (not asked again for every message); rate limits and network
      // trouble are asked again next time. Either way said once per user, not hidden.
      if (err instanceof SlackApiError) names.set(userId, null);
      if (!nameWarned.has(userId)) {
        nameWarned.add(userId);
        if (nameWarned.size > RECENT_IDS) nameWarned.delete(nameWarned.values().next().value!);
        log.warn("sender name lookup failed; shown by id", { user: userId, error: (err as Error).message });
      }
      return userId;
    }
  }

  function remember(key: string) {
    recent.add(key);
    if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value!);
  }

  async function onEnvelope(frame: SocketFrame): Promise<void> {
    if (frame.type !== "events_api") {
      // slash_commands / interactive: acked so Slack stops retrying; not handled yet.
      log.debug("envelope type not handled", { type: frame.type });
      return;
    }
    const cb = v.safeParse(EventCallback, frame.payload);
    if (!cb.success) {
      log.warn(`ignored a bad events_api payload (${describeIssues(cb.issues)})`);
      return;
    }
    const event = cb.output.event as { type: string };
    if (event.type === "message" || event.type === "app_mention") {
      const parsed = v.safeParse(MessageEvent, event);
      if (!parsed.success) {
        log.warn(`ignored a bad ${event.type} event (${describeIssues(parsed.issues)})`);
        return;
      }
      const mapped = mapMessageEvent(parsed.output, {
        botUserId: botUserId ?? "",
        ...(botId ? { botId } : {}),
        assistantName: opts.assistantName,
      });
      if (mapped.kind === "ignored") {
        log.debug("message skipped", { reason: mapped.reason });
        return;
      }
      const key = `${mapped.message.chatJid}:${mapped.message.id}`;
      if (recent.has(key)) return;
      if (
        mapped.message.isFromMe &&
        ownPosts.consume(`${parsed.output.channel}\n${unescapeSlack(parsed.output.text)}`)
      ) {
        log.debug("echo of our own post skipped", { ts: mapped.message.id });
        return;
      }
      const message = mapped.message;
      if (mapped.userId) message.senderName = await senderName(mapped.userId);
      await sink!.inbound(message);
      remember(key);
      return;
    }
    if (event.type === "member_joined_channel") {
      const parsed = v.safeParse(MemberJoinedChannel, event);
      if (!parsed.success) {
        log.warn(`ignored a bad member_joined_channel event (${describeIssues(parsed.issues)})`);
        return;
      }
      if (parsed.output.user === botUserId) {
        log.info("added to a channel", { channel: parsed.output.channel });
        sink!.discovered({
          jid: `slack:${parsed.output.channel}`,
          isGroup: parsed.output.channel_type !== "D",
        });
      }
      return;
    }
    log.debug("event type not handled", { type: event.type });
  }

  return {
    name: "slack",
    ownsJid: (jid) => jid.startsWith("slack:"),

    async connect(s: ChannelSink) {
      sink = s;
      health.attach(s);
      setStatus("connecting");
      const appToken = requireToken("appToken");
      requireToken("botToken");
      try {
        await authTest();
      } catch (err) {
        if (err instanceof SlackApiError) {
          setStatus("error", err.message);
          throw err;
        }
        // Network trouble: the connect loop retries auth.test before opening the socket.
        log.warn("auth.test failed, will retry", { error: (err as Error).message });
      }
      client = createSocketModeClient({
        log,
        ...(opts.pingIntervalMs ? { pingIntervalMs: opts.pingIntervalMs } : {}),
        backoff: createBackoff(opts.backoff),
        isFatal: (err) => err instanceof SlackApiError && err.isAuthError,
        onStatus: (state, error) => setStatus(state, error),
        onEnvelope,
        async openUrl() {
          if (!botUserId) await authTest();
          const res = await api.call("apps.connections.open", appToken);
          if (typeof res.url !== "string") throw new SlackApiError("apps.connections.open", "no_url");
          return res.url;
        },
      });
      await client.start();
    },

    async disconnect() {
      await client?.stop();
      client = null;
      setStatus("disconnected");
    },

    async send(jid: string, text: string, options: SendOptions = {}) {
      if (!jid.startsWith("slack:") || jid.length === "slack:".length)
        throw new ChannelError("slack", "refused", `not a Slack chat id: ${jid}`);
      const channel = jid.slice("slack:".length);
      const token = requireToken("botToken");
      // Inside a thread: answer there. A top-level message: a thread under it, where configured.
      const thread =
        options.threadId ?? (options.replyToId && threads(channel) ? options.replyToId : undefined);
      await sendChunks("slack", splitMessage(text, SLACK_TEXT_LIMIT), options, async (chunk) => {
        ownPosts.note(`${channel}\n${unescapeSlack(chunk)}`);
        await withRateLimitRetry(
          () =>
            api.call("chat.postMessage", token, {
              channel,
              text: chunk,
              ...(thread ? { thread_ts: thread } : {}),
            }),
          {
            maxRetries: opts.maxRateLimitRetries ?? 5,
            onWait: (err, attempt) =>
              log.warn("rate limited, waiting", { retryAfterMs: err.retryAfterMs, attempt }),
          },
        );
      });
    },

    /**
     * No-op on purpose: Slack has no typing indicator for bots outside the legacy RTM API.
     * (assistant.threads.setStatus exists only for "AI assistant" apps inside assistant threads,
     * which a Socket Mode channel bot is not.)
     */
    async setTyping() {},

    health: () => health.snapshot(),

    async verify() {
      if (!opts.botToken) return { ok: false, detail: "channels.slack.botToken is not set (xoxb-…)" };
      if (!opts.appToken)
        return { ok: false, detail: "channels.slack.appToken is not set (xapp-…, scope connections:write)" };
      try {
        const res = await authTest();
        await api.call("apps.connections.open", opts.appToken);
        return {
          ok: true,
          detail: `bot @${String(res.user)} (${botUserId}) in ${String(res.team)}; app token can open Socket Mode`,
        };
      } catch (err) {
        return { ok: false, detail: (err as Error).message };
      }
    },
  };
}

/** A required Slack setting is missing. */
export class SlackConfigError extends ChannelError {
  override name = "SlackConfigError";
  constructor(readonly key: "botToken" | "appToken") {
    super(
      "slack",
      "config",
      key === "botToken"
        ? "channels.slack.botToken is not set: use the bot token (xoxb-…) from OAuth & Permissions"
        : "channels.slack.appToken is not set: create an app-level token (xapp-…) with connections:write",
    );
  }
}
