/**
 * The QQ channel (official bot API v2): receives by webhook (default; Ed25519-signed pushes on
 * the web server's webhook routes) or by the legacy WebSocket gateway, and replies passively —
 * QQ accepts nothing else. Each reply carries the user's msg_id and a fresh msg_seq; a reply the
 * rule does not allow (too late, too many) is a permanent ChannelError of kind "refused" whose
 * message states QQ's rule, so the delivery record, the chat history and `ngb tasks runs` say why.
 * Events are validated, de-duplicated by id (bounded) and stored before they are acked.
 */
import type { Logger } from "../../log/index.ts";
import type { Channel, ChannelHealth, ChannelSink, SendOptions } from "../../orchestrator/channel.ts";
import { errorMessage } from "../../util/errors.ts";
import type { BackoffOptions } from "../kit/backoff.ts";
import { splitMessage } from "../kit/chunk.ts";
import type { Clock } from "../kit/clock.ts";
import { ChannelError } from "../kit/errors.ts";
import { createHealth } from "../kit/health.ts";
import { sendChunks } from "../kit/send.ts";
import { createTokenCaches, type TokenCaches } from "../kit/token-cache.ts";
import { createQqApi, QqApiError, type QqTarget } from "./api.ts";
import { createQqGateway, type QqGateway } from "./gateway.ts";
import { mapEvent, parseJid } from "./map.ts";
import { createReplyBook, describeRule } from "./replies.ts";
import { createQqSigner } from "./sign.ts";
import { createQqWebhook } from "./webhook.ts";

export interface QqConfig {
  mode: "webhook" | "gateway";
  appId?: string;
  appSecret?: string;
  apiBaseUrl: string;
  tokenUrl: string;
  webhookPath: string;
  intents: number;
  /** Send replies as markdown (msg_type 2; needs QQ's markdown permission). */
  markdown: boolean;
}

export interface QqChannelOptions {
  config: QqConfig;
  assistantName: string;
  log: Logger;
  fetch: typeof fetch;
  clock: Clock;
  tokens?: TokenCaches;
  onRejected?: (reason: string) => void;
  backoff?: BackoffOptions;
  tooFastWaitMs?: number;
  WebSocket?: typeof WebSocket;
}

/** QQ documents no length limit; peers keep replies under 2,000 characters. */
export const QQ_MAX_CHARS = 1_800;
const RECENT = 10_000;
/** Codes QQ answers for replies it will not take (bot-docs error table). */
const REPLY_CODES = new Set([304026, 304027, 304028, 40034024, 40034025]);

export interface QqChannel extends Channel {
  health(): ChannelHealth & { rejected: Record<string, number> };
  readonly gateway: QqGateway | undefined;
}

export function createQqChannel(o: QqChannelOptions): QqChannel {
  const { config } = o;
  const log = o.log.withTag("qq");
  const clock = o.clock;
  const health = createHealth("qq", { clock });
  const rejected: Record<string, number> = {};
  const recent = new Set<string>();
  const known = new Set<string>();
  const book = createReplyBook();
  const api = createQqApi({
    apiBaseUrl: config.apiBaseUrl,
    tokenUrl: config.tokenUrl,
    appId: config.appId ?? "",
    secret: config.appSecret ?? "",
    fetch: o.fetch,
  });
  const tokens = (o.tokens ?? createTokenCaches()).get(`qq:${config.appId}`, {
    channel: "qq",
    fetchToken: (signal) => api.getToken(signal),
    clock,
    // QQ hands out a new token only in the last 60 s of the old one's life.
    refreshAheadMs: 50_000,
  });
  let sink: ChannelSink | undefined;
  let botId: string | undefined;
  let gateway: QqGateway | undefined;

  function reject(reason: string) {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
    o.onRejected?.(reason);
  }

  async function onDispatch(t: string, d: unknown, _id: string | undefined) {
    if (!sink) throw new Error("not connected");
    const now = clock.now();
    const mapped = mapEvent(t, d, { assistantName: o.assistantName, ...(botId ? { botId } : {}), now });
    if (mapped.kind === "ignored") {
      if (mapped.reason === "unknown event") {
        reject("unknown_event");
        log.warn("qq event of an unknown type ignored", { t: t.slice(0, 64) });
      } else if (mapped.reason) {
        reject("bad_message");
        log.warn(`qq event refused: ${mapped.reason}`);
      }
      return;
    }
    if (!known.has(mapped.chat.jid)) {
      known.add(mapped.chat.jid);
      sink.discovered(mapped.chat);
    }
    if (mapped.kind === "discovered") return;
    const m = mapped.message;
    if (recent.has(m.id)) {
      reject("duplicate");
      log.debug("qq redelivered event skipped", { id: m.id });
      return;
    }
    // The reply window runs from the user's message; a clock far off falls back to arrival.
    const at =
      m.timestamp <= now + 60_000 && m.timestamp >= now - 2 * 60 * 60_000 ? Math.min(m.timestamp, now) : now;
    if (!m.isFromMe) book.note(m.chatJid, mapped.target.kind, m.id, at);
    await sink.inbound(m);
    recent.add(m.id);
    if (recent.size > RECENT) recent.delete(recent.values().next().value!);
  }

  function problem(): string | undefined {
    if (!config.appId) return "channels.qq.appId is not set (the bot's AppID)";
    if (!config.appSecret) return "channels.qq.appSecret is not set (the bot's AppSecret)";
    return undefined;
  }

  const webhooks =
    config.mode === "webhook" && config.appId && config.appSecret
      ? createQqWebhook({
          path: config.webhookPath,
          appId: config.appId,
          signer: createQqSigner(config.appSecret),
          log,
          now: () => clock.now(),
          onRejected: reject,
          onDispatch,
        })
      : undefined;

  function body(target: QqTarget, content: string, msgId: string, seq: number): Record<string, unknown> {
    if (target.kind === "channel" || target.kind === "dm") return { content, msg_id: msgId };
    const text = config.markdown ? { msg_type: 2, markdown: { content } } : { msg_type: 0, content };
    return { ...text, msg_id: msgId, msg_seq: seq };
  }

  return {
    name: "qq",
    webhooks,
    ownsJid: (jid) => parseJid(jid) !== undefined,
    get gateway() {
      return gateway;
    },
    async connect(s) {
      sink = s;
      health.attach(s);
      const p = problem();
      if (p) {
        health.set({ state: "error", error: p });
        throw new ChannelError("qq", "config", p);
      }
      if (config.mode === "webhook") {
        // Nothing to connect to: QQ pushes. Check the credentials now so a mistake shows at once.
        try {
          await tokens.get();
          health.set({ state: "connected" });
        } catch (err) {
          health.set({ state: "error", error: errorMessage(err) });
          if (err instanceof ChannelError && err.kind === "auth") throw err;
          log.warn("qq token endpoint unreachable; webhook served anyway", { error: errorMessage(err) });
        }
        log.info("webhook mode", { path: config.webhookPath });
        return;
      }
      health.set({ state: "connecting" });
      gateway = createQqGateway({
        token: () => tokens.get(),
        invalidateToken: () => tokens.invalidate(),
        gatewayUrl: (t) => api.gatewayUrl(t),
        intents: config.intents,
        log,
        clock,
        ...(o.backoff ? { backoff: o.backoff } : {}),
        ...(o.tooFastWaitMs !== undefined ? { tooFastWaitMs: o.tooFastWaitMs } : {}),
        ...(o.WebSocket ? { WebSocket: o.WebSocket } : {}),
        onDispatch,
        onReady: (user) => {
          if (user.id) botId = user.id;
        },
        onStatus: (state, error) => health.set({ state, ...(error ? { error } : {}) }),
        onRejected: reject,
      });
      await gateway.start();
    },
    async disconnect() {
      await gateway?.stop();
      gateway = undefined;
      health.set({ state: "disconnected" });
    },
    async send(jid, text, opts?: SendOptions) {
      const target = parseJid(jid);
      if (!target) throw new ChannelError("qq", "config", `not a QQ chat id: ${jid}`);
      const chunks = splitMessage(text, QQ_MAX_CHARS);
      await sendChunks("qq", chunks, opts, async (chunk) => {
        const grant = book.take(jid, target.kind, clock.now(), opts?.replyToId);
        if (!grant.ok)
          throw new ChannelError("qq", "refused", `not delivered: ${grant.reason}`, { permanent: true });
        try {
          await tokens.withToken((t) => api.send(t, target, body(target, chunk, grant.msgId, grant.seq)));
        } catch (err) {
          if (err instanceof QqApiError && err.code !== undefined && REPLY_CODES.has(err.code))
            throw new ChannelError(
              "qq",
              "refused",
              `not delivered: ${describeRule(target.kind)} (${err.message})`,
              {
                permanent: true,
                cause: err,
              },
            );
          throw err;
        }
      });
    },
    /** QQ has no typing indicator for bots in these chats. */
    async setTyping() {},
    health: () => ({ ...health.snapshot(), rejected: { ...rejected } }),
    async verify() {
      const p = problem();
      if (p) return { ok: false, detail: p };
      try {
        const t = await api.getToken();
        if (config.mode === "gateway") await api.gatewayUrl(t.token);
        return {
          ok: true,
          detail: `app ${config.appId}: access token issued (valid ${Math.round(t.expiresInMs / 1000)} s)${config.mode === "gateway" ? ", gateway URL obtained" : ""}`,
        };
      } catch (err) {
        return { ok: false, detail: errorMessage(err) };
      }
    },
  };
}
