/**
 * The DingTalk channel: Stream mode for receiving (no public URL), session webhooks and the
 * robot OpenAPI for sending. Robot messages are validated, de-duplicated by `msgId` (bounded),
 * stored, and acked only after the store has them; a store failure is retried in place a few
 * times (DingTalk does not promise to push a robot message again). Chats are
 * `dingtalk:group:<conversationId>` and `dingtalk:user:<staffId>` (see map.ts).
 */
import * as v from "valibot";
import type { Logger } from "../../log/index.ts";
import type { Channel, ChannelSink, SendOptions } from "../../orchestrator/channel.ts";
import {
  type BackoffOptions,
  type Clock,
  createBackoff,
  createHealth,
  createTokenCaches,
  systemClock,
  type TokenCaches,
} from "../kit/index.ts";
import { createDingTalkApi, DingTalkApiError, DingTalkConfigError } from "./api.ts";
import { issuePath, parseData, type StreamFrame, TOPIC_ROBOT } from "./frames.ts";
import { JID_PREFIX, mapRobotMessage, RobotMessage } from "./map.ts";
import { createSender, type Route } from "./send.ts";
import { createStreamClient, type StreamClient } from "./stream.ts";
import { createSessionWebhooks } from "./webhooks.ts";

export interface DingTalkConfig {
  apiBaseUrl: string;
  /** Base of `connections/open` when not the API host. */
  gatewayBaseUrl?: string;
  clientId?: string;
  clientSecret?: string;
}

export interface DingTalkChannelOptions {
  config: DingTalkConfig;
  assistantName: string;
  log: Logger;
  fetch?: typeof fetch;
  clock?: Clock;
  /** The shared access-token caches (one per app credential); a private one when absent. */
  tokens?: TokenCaches;
  /** After a failed token request, answer with that failure for this long. Default 1 s. */
  tokenFailureCooldownMs?: number;
  backoff?: BackoffOptions;
  pingIntervalMs?: number;
  silenceTimeoutMs?: number;
  maxRateLimitRetries?: number;
  flowControlRetryMs?: number;
  /** A session webhook this close to its expiry is not used. Default 60 s. */
  webhookMarginMs?: number;
  /** Keep session webhooks in this file across restarts (mode 0600). In memory only when absent. */
  webhookFile?: string;
  /** Store attempts per message before it is left un-acked. Default 4. */
  inboundAttempts?: number;
  /** Each refused inbound frame or message, by kind (a /metrics label). */
  onRejected?: (kind: RejectKind) => void;
  WebSocket?: typeof WebSocket;
}

export interface DingTalkChannel extends Channel {
  /** Send and say which route each chunk took (tests, `ngb send` output). */
  sendWithRoutes(jid: string, text: string, options?: SendOptions): Promise<Route[]>;
  readonly connectionCount: number;
}

/** Why an inbound frame or message was refused (low-cardinality, for counting). */
export type RejectKind = "bad_frame" | "unknown_topic" | "bad_message";

const UA = "nanogridbot-dingtalk/1";
const RECENT_IDS = 5_000;

export function createDingTalkChannel(opts: DingTalkChannelOptions): DingTalkChannel {
  const log = opts.log.withTag("dingtalk");
  const clock = opts.clock ?? systemClock;
  const now = () => clock.now();
  const { clientId, clientSecret } = opts.config;
  const api = createDingTalkApi({
    apiBaseUrl: opts.config.apiBaseUrl,
    ...(opts.config.gatewayBaseUrl ? { gatewayBaseUrl: opts.config.gatewayBaseUrl } : {}),
    clientId: clientId ?? "",
    clientSecret: clientSecret ?? "",
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const tokens = (opts.tokens ?? createTokenCaches()).get(`dingtalk:${clientId}`, {
    channel: "dingtalk",
    fetchToken: () => api.getAccessToken(),
    clock,
    ...(opts.tokenFailureCooldownMs !== undefined ? { failureCooldownMs: opts.tokenFailureCooldownMs } : {}),
  });
  const webhooks = createSessionWebhooks({
    log,
    now,
    ...(opts.webhookFile ? { file: opts.webhookFile } : {}),
  });
  const sender = createSender({
    api,
    tokens,
    webhooks,
    log,
    assistantName: opts.assistantName,
    now,
    ...(opts.maxRateLimitRetries !== undefined ? { maxRateLimitRetries: opts.maxRateLimitRetries } : {}),
    ...(opts.flowControlRetryMs !== undefined ? { flowControlRetryMs: opts.flowControlRetryMs } : {}),
    ...(opts.webhookMarginMs !== undefined ? { webhookMarginMs: opts.webhookMarginMs } : {}),
  });
  const health = createHealth("dingtalk", { clock });
  /** msgIds stored lately (redeliveries skipped cheaply; the store de-duplicates as well). */
  const recent = new Set<string>();
  /** Chats announced to the sink in this process. */
  const known = new Set<string>();
  const attempts = opts.inboundAttempts ?? 4;
  let sink: ChannelSink | null = null;
  let client: StreamClient | null = null;

  /** One log line (never the payload, never a secret) and one count per refusal. */
  function reject(kind: RejectKind, reason: string) {
    log.warn(`ignored ${reason}`, { kind });
    opts.onRejected?.(kind);
  }

  function requireCredentials(): { clientId: string; clientSecret: string } {
    if (!clientId)
      throw new DingTalkConfigError("channels.dingtalk.clientId is not set (the app's Client ID / AppKey)");
    if (!clientSecret)
      throw new DingTalkConfigError(
        "channels.dingtalk.clientSecret is not set (the app's Client Secret / AppSecret)",
      );
    return { clientId, clientSecret };
  }

  function remember(id: string) {
    recent.add(id);
    if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value!);
  }

  async function store(message: Parameters<ChannelSink["inbound"]>[0]): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        await sink!.inbound(message);
        return;
      } catch (err) {
        if (i >= attempts) throw err;
        log.warn("store failed, retrying", { msgId: message.id, attempt: i, error: (err as Error).message });
        await clock.sleep(50 * 4 ** (i - 1));
      }
    }
  }

  async function onFrame(frame: StreamFrame): Promise<200 | 404> {
    if (frame.type !== "CALLBACK" || frame.headers.topic !== TOPIC_ROBOT) {
      reject(
        "unknown_topic",
        `a ${frame.type} frame for topic ${JSON.stringify(String(frame.headers.topic ?? "").slice(0, 80))}`,
      );
      return frame.type === "EVENT" ? 200 : 404;
    }
    const data = parseData(frame);
    if (!data.ok) {
      reject("bad_message", `a robot message: ${data.reason}`);
      return 200;
    }
    const parsed = v.safeParse(RobotMessage, data.data);
    if (!parsed.success) {
      reject("bad_message", `a robot message without a valid ${issuePath(parsed.issues)}`);
      return 200;
    }
    const msg = parsed.output;
    if (recent.has(msg.msgId)) {
      log.debug("redelivered message skipped", { msgId: msg.msgId });
      return 200;
    }
    const mapped = mapRobotMessage(msg, { assistantName: opts.assistantName, now: now() });
    if (mapped.kind === "ignored") {
      reject("bad_message", `a robot message: ${mapped.reason}`);
      return 200;
    }
    if (mapped.truncated) log.warn("long message cut for storage", { msgId: msg.msgId });
    if (mapped.webhook) webhooks.set(mapped.message.chatJid, mapped.webhook);
    if (!known.has(mapped.chat.jid)) {
      sink!.discovered(mapped.chat);
      known.add(mapped.chat.jid);
      if (known.size > RECENT_IDS) known.delete(known.values().next().value!);
    }
    await store(mapped.message);
    remember(msg.msgId);
    return 200;
  }

  return {
    name: "dingtalk",
    ownsJid: (jid) => jid.startsWith(JID_PREFIX),

    async connect(s) {
      sink = s;
      health.attach(s);
      requireCredentials();
      health.set({ state: "connecting" });
      client = createStreamClient({
        log,
        backoff: createBackoff(opts.backoff),
        ...(opts.pingIntervalMs ? { pingIntervalMs: opts.pingIntervalMs } : {}),
        ...(opts.silenceTimeoutMs ? { silenceTimeoutMs: opts.silenceTimeoutMs } : {}),
        ...(opts.WebSocket ? { WebSocket: opts.WebSocket } : {}),
        isFatal: (err) => err instanceof DingTalkApiError && err.isAuthError,
        onStatus: (state, error) => health.set({ state, ...(error ? { error } : {}) }),
        onBadFrame: (reason) => reject("bad_frame", `a stream frame: ${reason}`),
        onFrame,
        openConnection: () => api.openConnection([{ type: "CALLBACK", topic: TOPIC_ROBOT }], UA),
      });
      await client.start();
    },

    async disconnect() {
      await client?.stop();
      client = null;
      webhooks.flush();
      health.set({ state: "disconnected" });
    },

    async send(jid, text, options) {
      await sender.send(jid, text, options);
    },

    sendWithRoutes: (jid, text, options) => sender.send(jid, text, options),

    /** DingTalk robots have no typing indicator (AI cards can show progress, a separate product). */
    async setTyping() {},

    health: () => health.snapshot(),

    async verify() {
      try {
        requireCredentials();
        const token = await api.getAccessToken();
        await api.openConnection([{ type: "CALLBACK", topic: TOPIC_ROBOT }], UA);
        return {
          ok: true,
          detail: `app ${clientId} accepted: access token issued (valid ${Math.round(token.expiresInMs / 1000)} s), Stream connection can be opened`,
        };
      } catch (err) {
        return { ok: false, detail: (err as Error).message };
      }
    },

    get connectionCount() {
      return client?.connectionCount ?? 0;
    },
  };
}
