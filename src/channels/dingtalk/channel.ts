/**
 * The DingTalk channel: Stream mode for receiving (no public URL), session webhooks and the
 * robot OpenAPI for sending. Robot messages are validated, de-duplicated by `msgId` (bounded),
 * stored, and acked only after the store has them; a store failure is retried in place a few
 * times (DingTalk does not promise to push a robot message again). Chats are
 * `dingtalk:group:<conversationId>` and `dingtalk:user:<staffId>` (see map.ts).
 */
import * as v from "valibot";
import type { Logger } from "../../log/index.ts";
import type {
  Channel,
  ChannelHealth,
  ChannelSink,
  ChannelStatusUpdate,
  SendOptions,
} from "../../orchestrator/channel.ts";
import { type BackoffOptions, createBackoff, sleep } from "../backoff.ts";
import { createDingTalkApi, DingTalkApiError, DingTalkConfigError, type DingTalkApi } from "./api.ts";
import { issuePath, parseData, type StreamFrame, TOPIC_ROBOT } from "./frames.ts";
import { JID_PREFIX, mapRobotMessage, RobotMessage } from "./map.ts";
import { createSender, createSessionWebhooks, type Route, type TokenSource } from "./send.ts";
import { createStreamClient, type StreamClient } from "./stream.ts";

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
  /** The shared access-token cache for this app; built from the API when absent. */
  tokens?: TokenSource & { invalidate(token?: string): void };
  backoff?: BackoffOptions;
  pingIntervalMs?: number;
  silenceTimeoutMs?: number;
  maxRateLimitRetries?: number;
  flowControlRetryMs?: number;
  /** Store attempts per message before it is left un-acked. Default 4. */
  inboundAttempts?: number;
  /** Each refused inbound frame or message, by reason (for /metrics). */
  onRejected?: (reason: string) => void;
  now?: () => number;
  WebSocket?: typeof WebSocket;
}

export interface DingTalkChannel extends Channel {
  /** Send and say which route each chunk took (tests, `ngb send` output). */
  sendWithRoutes(jid: string, text: string, options?: SendOptions): Promise<Route[]>;
  readonly connectionCount: number;
}

const UA = "nanogridbot-dingtalk/1";
const RECENT_IDS = 5_000;

/** A tiny per-channel token cache, used when no shared one is passed. */
function ownTokens(api: DingTalkApi, now: () => number): TokenSource & { invalidate(token?: string): void } {
  let cached: { token: string; refreshAt: number } | undefined;
  let inFlight: Promise<string> | undefined;
  const get = async () => {
    if (cached && now() < cached.refreshAt) return cached.token;
    inFlight ??= api
      .getAccessToken()
      .then((t) => {
        cached = {
          token: t.token,
          refreshAt: now() + t.expiresInMs - Math.min(5 * 60_000, t.expiresInMs / 2),
        };
        return t.token;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  const invalidate = (token?: string) => {
    if (!token || cached?.token === token) cached = undefined;
  };
  return {
    invalidate,
    async withToken(fn) {
      const token = await get();
      try {
        return await fn(token);
      } catch (err) {
        if (!(err instanceof DingTalkApiError) || !err.isAuthError) throw err;
        invalidate(token);
        return fn(await get());
      }
    },
  };
}

export function createDingTalkChannel(opts: DingTalkChannelOptions): DingTalkChannel {
  const log = opts.log.withTag("dingtalk");
  const now = opts.now ?? Date.now;
  const { clientId, clientSecret } = opts.config;
  const api = createDingTalkApi({
    apiBaseUrl: opts.config.apiBaseUrl,
    ...(opts.config.gatewayBaseUrl ? { gatewayBaseUrl: opts.config.gatewayBaseUrl } : {}),
    clientId: clientId ?? "",
    clientSecret: clientSecret ?? "",
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const tokens = opts.tokens ?? ownTokens(api, now);
  const webhooks = createSessionWebhooks();
  const sender = createSender({
    api,
    tokens,
    webhooks,
    log,
    assistantName: opts.assistantName,
    now,
    ...(opts.maxRateLimitRetries !== undefined ? { maxRateLimitRetries: opts.maxRateLimitRetries } : {}),
    ...(opts.flowControlRetryMs !== undefined ? { flowControlRetryMs: opts.flowControlRetryMs } : {}),
  });
  const health: ChannelHealth = { name: "dingtalk", state: "disconnected" };
  const recent = new Set<string>();
  const known = new Set<string>();
  const attempts = opts.inboundAttempts ?? 4;
  let sink: ChannelSink | null = null;
  let client: StreamClient | null = null;

  function setStatus(state: ChannelStatusUpdate["state"], error?: string) {
    health.state = state;
    if (state === "connected") health.connectedSince = now();
    if (error) {
      health.lastError = error;
      health.lastErrorAt = now();
    }
    sink?.status({ state, ...(error ? { error } : {}) });
  }

  function reject(reason: string) {
    log.warn(`ignored ${reason}`);
    opts.onRejected?.(reason);
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
        await sleep(50 * 4 ** (i - 1));
      }
    }
  }

  async function onFrame(frame: StreamFrame): Promise<200 | 404> {
    if (frame.type !== "CALLBACK" || frame.headers.topic !== TOPIC_ROBOT) {
      reject(
        `a ${frame.type} frame for topic ${JSON.stringify(String(frame.headers.topic ?? "").slice(0, 80))}`,
      );
      return frame.type === "EVENT" ? 200 : 404;
    }
    const data = parseData(frame);
    if (!data.ok) {
      reject(`a robot message: ${data.reason}`);
      return 200;
    }
    const parsed = v.safeParse(RobotMessage, data.data);
    if (!parsed.success) {
      reject(`a robot message without a valid ${issuePath(parsed.issues)}`);
      return 200;
    }
    const msg = parsed.output;
    if (recent.has(msg.msgId)) {
      log.debug("redelivered message skipped", { msgId: msg.msgId });
      return 200;
    }
    const mapped = mapRobotMessage(msg, { assistantName: opts.assistantName, now: now() });
    if (mapped.kind === "ignored") {
      reject(`a robot message: ${mapped.reason}`);
      return 200;
    }
    if (mapped.truncated) log.warn("long message cut for storage", { msgId: msg.msgId });
    if (mapped.webhook) webhooks.set(mapped.message.chatJid, mapped.webhook);
    if (!known.has(mapped.chat.jid)) {
      sink!.discovered(mapped.chat);
      known.add(mapped.chat.jid);
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
      requireCredentials();
      setStatus("connecting");
      client = createStreamClient({
        log,
        backoff: createBackoff(opts.backoff),
        ...(opts.pingIntervalMs ? { pingIntervalMs: opts.pingIntervalMs } : {}),
        ...(opts.silenceTimeoutMs ? { silenceTimeoutMs: opts.silenceTimeoutMs } : {}),
        ...(opts.WebSocket ? { WebSocket: opts.WebSocket } : {}),
        isFatal: (err) => err instanceof DingTalkApiError && err.isAuthError,
        onStatus: (state, error) => setStatus(state, error),
        onBadFrame: (reason) => reject(`a stream frame: ${reason}`),
        onFrame,
        openConnection: () => api.openConnection([{ type: "CALLBACK", topic: TOPIC_ROBOT }], UA),
      });
      await client.start();
    },

    async disconnect() {
      await client?.stop();
      client = null;
      setStatus("disconnected");
    },

    async send(jid, text, options) {
      await sender.send(jid, text, options);
    },

    sendWithRoutes: (jid, text, options) => sender.send(jid, text, options),

    /** DingTalk robots have no typing indicator (AI cards can show progress, a separate product). */
    async setTyping() {},

    health: () => ({ ...health }),

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
