/**
 * The WeCom channel, in one of two modes:
 * - `aibot` (default): the AI-bot long connection. Works in groups and 1:1 without a public URL.
 *   A reply answers the callback's req_id as a stream (`aibot_respond_msg`, msgtype stream):
 *   opened with a "working" text when the agent starts (setTyping), finished with the answer;
 *   once the stream window (6 min after the user's message; 5.5 min used) has passed, or for a
 *   message nobody asked for (`ngb send`, scheduled tasks), a proactive `aibot_send_msg`.
 * - `app`: a self-built app. Receives on the encrypted XML callback URL (webhook routes),
 *   sends with `message/send` and an app access token from the shared token cache. 1:1 only
 *   (apps are not group members).
 * Inbound messages are validated, de-duplicated by msgid (bounded), stored before anything
 * else; refusals are one log line and one count (`onRejected`, and `health().rejected`).
 */
import * as v from "valibot";
import type { Logger } from "../../log/index.ts";
import type { Channel, ChannelHealth, ChannelSink, SendOptions } from "../../orchestrator/channel.ts";
import { errorMessage } from "../../util/errors.ts";
import type { BackoffOptions } from "../kit/backoff.ts";
import type { Clock } from "../kit/clock.ts";
import { ChannelError } from "../kit/errors.ts";
import { createHealth } from "../kit/health.ts";
import { sendChunks } from "../kit/send.ts";
import { createTokenCaches, type TokenCaches } from "../kit/token-cache.ts";
import { type AibotFrame, createAibotClient, newReqId, type AibotClient } from "./aibot.ts";
import { createWecomAppApi } from "./app-api.ts";
import { createCallbackRoutes } from "./callback.ts";
import { AibotMessage, JID_PREFIX, mapAibotMessage, mapAppXml, parseJid } from "./map.ts";
import { splitBytes } from "./split.ts";

export interface WecomConfig {
  mode: "aibot" | "app";
  wsUrl: string;
  botId?: string;
  botSecret?: string;
  /** The bot's display name in groups (its leading @mention is replaced by the assistant's). */
  botName?: string;
  apiBaseUrl: string;
  corpId?: string;
  corpSecret?: string;
  agentId?: number;
  token?: string;
  encodingAesKey?: string;
  webhookPath: string;
  /** Text shown in the reply stream while the agent works; "" = open no stream early. */
  workingText: string;
}

export interface WecomChannelOptions {
  config: WecomConfig;
  assistantName: string;
  log: Logger;
  fetch: typeof fetch;
  clock: Clock;
  tokens?: TokenCaches;
  /** Each refused inbound frame or request, by a short reason (for /metrics). */
  onRejected?: (reason: string) => void;
  /** Stream replies are used until this long after the user's message. Default 5.5 min. */
  replyWindowMs?: number;
  /** After a run ends, how long an opened stream waits for its reply before it is closed empty. Default 30 s. */
  streamGraceMs?: number;
  heartbeatMs?: number;
  ackTimeoutMs?: number;
  kickedRetryMs?: number;
  backoff?: BackoffOptions;
  WebSocket?: typeof WebSocket;
}

/** Stream content limit (bytes, documented); also used for aibot_send_msg (its limit is not). */
export const AIBOT_MAX_BYTES = 20_480;
/** message/send text and markdown limit (bytes). */
export const APP_MAX_BYTES = 2_048;
const RECENT = 5_000;

interface ReplyContext {
  reqId: string;
  at: number;
  jid: string;
  streamId?: string;
  /** The stream was finished (by a reply or at the end of the run). */
  done: boolean;
  /** Closes a stream left open when the run ended (cancelled when the reply arrives). */
  closer?: ReturnType<typeof setTimeout>;
}

export interface WecomChannel extends Channel {
  /** How each chunk of the last send went: "stream" or "proactive" (aibot), "app" (tests). */
  readonly lastRoutes: readonly string[];
  health(): ChannelHealth & { rejected: Record<string, number> };
}

export function createWecomChannel(o: WecomChannelOptions): WecomChannel {
  const { config } = o;
  const log = o.log.withTag("wecom");
  const clock = o.clock;
  const windowMs = o.replyWindowMs ?? 330_000;
  const streamGraceMs = o.streamGraceMs ?? 30_000;
  const health = createHealth("wecom", { clock });
  const rejected: Record<string, number> = {};
  const recent = new Set<string>();
  const known = new Set<string>();
  const contexts = new Map<string, ReplyContext>();
  const latest = new Map<string, string>();
  let sink: ChannelSink | undefined;
  let client: AibotClient | undefined;
  let lastRoutes: string[] = [];

  function reject(reason: string) {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
    o.onRejected?.(reason);
  }

  function seen(id: string): boolean {
    if (recent.has(id)) return true;
    recent.add(id);
    if (recent.size > RECENT) recent.delete(recent.values().next().value!);
    return false;
  }

  function discover(chat: { jid: string; name?: string; isGroup?: boolean }) {
    if (known.has(chat.jid)) return;
    known.add(chat.jid);
    sink?.discovered(chat);
  }

  /**
   * Store, retrying a failing store a few times in place: the AI bot has no ack, so WeCom does
   * not push a message again (the app callback does: there a failure answers 500).
   */
  async function store(message: Parameters<ChannelSink["inbound"]>[0], id: string, attempts = 1) {
    for (let i = 1; ; i++) {
      try {
        await sink!.inbound(message);
        return;
      } catch (err) {
        if (i < attempts) {
          log.warn("store failed, retrying", { msgid: id, attempt: i, error: errorMessage(err) });
          await clock.sleep(50 * 4 ** (i - 1));
          continue;
        }
        recent.delete(id); // not stored: a redelivery must get through
        throw err;
      }
    }
  }

  // ---- AI bot ----
  async function onCallback(frame: AibotFrame) {
    const reqId = frame.headers?.req_id;
    if (typeof reqId !== "string" || !reqId) {
      reject("bad_frame");
      log.warn("wecom callback without a req_id ignored");
      return;
    }
    if (frame.cmd === "aibot_event_callback") {
      const body = frame.body as {
        chatid?: unknown;
        chattype?: unknown;
        from?: { userid?: unknown };
        event?: { eventtype?: unknown };
      };
      const type = String(body?.event?.eventtype ?? "");
      if (type === "enter_chat" && typeof body.from?.userid === "string")
        discover({ jid: `${JID_PREFIX}user:${body.from.userid}`, name: body.from.userid, isGroup: false });
      else if (!["template_card_event", "feedback_event"].includes(type)) {
        reject("unknown_event");
        log.warn("wecom event of an unknown type ignored", { eventtype: type.slice(0, 40) });
      }
      return;
    }
    const parsed = v.safeParse(AibotMessage, frame.body);
    if (!parsed.success) {
      reject("bad_message");
      log.warn("wecom message refused: invalid body", { field: v.getDotPath(parsed.issues[0]) ?? "body" });
      return;
    }
    const m = parsed.output;
    if (seen(m.msgid)) {
      reject("duplicate");
      log.debug("wecom redelivered message skipped", { msgid: m.msgid });
      return;
    }
    const mapped = mapAibotMessage(m, {
      assistantName: o.assistantName,
      ...(config.botName ? { botName: config.botName } : {}),
      now: clock.now(),
    });
    discover(mapped.chat);
    // The reply context first: the orchestrator may answer as soon as the message is stored.
    contexts.set(m.msgid, { reqId, at: clock.now(), jid: mapped.message.chatJid, done: false });
    if (contexts.size > RECENT) contexts.delete(contexts.keys().next().value!);
    latest.set(mapped.message.chatJid, m.msgid);
    await store(mapped.message, m.msgid, 4);
  }

  function replyContext(jid: string, replyToId?: string): ReplyContext | undefined {
    const id = (replyToId && contexts.has(replyToId) ? replyToId : undefined) ?? latest.get(jid);
    const ctx = id ? contexts.get(id) : undefined;
    if (!ctx || ctx.jid !== jid || ctx.done || clock.now() - ctx.at > windowMs) return undefined;
    return ctx;
  }

  async function stream(ctx: ReplyContext, content: string, finish: boolean): Promise<boolean> {
    if (finish && ctx.closer) clearTimeout(ctx.closer);
    ctx.streamId ??= newReqId("stream");
    const ack = await client!.request("aibot_respond_msg", ctx.reqId, {
      msgtype: "stream",
      stream: { id: ctx.streamId, finish, content },
    });
    if (finish) ctx.done = true;
    if (ack.errcode === 0) return true;
    ctx.done = true; // the platform no longer takes this stream: proactive from here on
    log.warn("wecom refused the stream reply; sending proactively", {
      errcode: ack.errcode,
      errmsg: ack.errmsg,
    });
    return false;
  }

  async function proactive(jid: string, content: string) {
    const target = parseJid(jid)!;
    const ack = await client!.request("aibot_send_msg", newReqId("aibot_send_msg"), {
      chatid: target.id,
      msgtype: "markdown",
      markdown: { content },
    });
    if (ack.errcode !== 0)
      throw new ChannelError(
        "wecom",
        "refused",
        `wecom refused the message to ${jid}: ${String(ack.errmsg ?? "").slice(0, 200)} (errcode ${ack.errcode})`,
      );
  }

  async function sendAibot(jid: string, text: string, opts?: SendOptions) {
    if (!client?.connected)
      throw new ChannelError("wecom", "network", "wecom: the long connection is not up");
    const chunks = splitBytes(text, AIBOT_MAX_BYTES);
    const ctx = replyContext(jid, opts?.replyToId);
    const routes: string[] = [];
    await sendChunks("wecom", chunks, opts, async (chunk, i) => {
      if (i === (opts?.fromChunk ?? 0) && ctx && (await stream(ctx, chunk, true))) routes.push("stream");
      else {
        await proactive(jid, chunk);
        routes.push("proactive");
      }
    });
    lastRoutes = routes;
  }

  // ---- self-built app ----
  const appApi =
    config.mode === "app"
      ? createWecomAppApi({
          apiBaseUrl: config.apiBaseUrl,
          corpId: config.corpId ?? "",
          corpSecret: config.corpSecret ?? "",
          agentId: config.agentId ?? 0,
          fetch: o.fetch,
        })
      : undefined;
  const tokens = appApi
    ? (o.tokens ?? createTokenCaches()).get(`wecom:${config.corpId}:${config.agentId}`, {
        channel: "wecom",
        fetchToken: (signal) => appApi.getToken(signal),
        clock,
      })
    : undefined;

  async function sendApp(jid: string, text: string, opts?: SendOptions) {
    const target = parseJid(jid)!;
    if (target.kind !== "user")
      throw new ChannelError(
        "wecom",
        "refused",
        `wecom: a self-built app cannot post in group chats (${jid}); use the AI-bot mode`,
      );
    const chunks = splitBytes(text, APP_MAX_BYTES);
    await sendChunks("wecom", chunks, opts, async (chunk) => {
      await tokens!.withToken((t) =>
        appApi!.sendMessage(t, { touser: target.id, msgtype: "markdown", markdown: { content: chunk } }),
      );
    });
    lastRoutes = chunks.map(() => "app");
  }

  const webhooks =
    config.mode === "app" && config.token && config.encodingAesKey && config.corpId
      ? createCallbackRoutes({
          path: config.webhookPath,
          token: config.token,
          encodingAesKey: config.encodingAesKey,
          corpId: config.corpId,
          log,
          now: () => clock.now(),
          onRejected: reject,
          async onMessage(fields) {
            if (!sink) throw new Error("not connected");
            const mapped = mapAppXml(fields, {
              corpId: config.corpId!,
              ...(config.agentId ? { agentId: String(config.agentId) } : {}),
              now: clock.now(),
            });
            if (mapped.kind === "ignored") {
              reject("bad_message");
              log.warn(`wecom callback ignored: ${mapped.reason}`);
              return;
            }
            if (mapped.chat) discover(mapped.chat);
            if (mapped.kind === "event") return;
            if (seen(mapped.message.id)) {
              reject("duplicate");
              return;
            }
            await store(mapped.message, mapped.message.id);
          },
        })
      : undefined;

  function configProblem(): string | undefined {
    if (config.mode === "aibot") {
      if (!config.botId) return "channels.wecom.botId is not set (the AI bot's Bot ID)";
      if (!config.botSecret) return "channels.wecom.botSecret is not set (the AI bot's Secret)";
      return undefined;
    }
    for (const k of ["corpId", "corpSecret", "agentId", "token", "encodingAesKey"] as const)
      if (!config[k]) return `channels.wecom.${k} is not set (needed in app mode)`;
    if (!/^[A-Za-z0-9+/]{43}$/.test(config.encodingAesKey!))
      return "channels.wecom.encodingAesKey must be the 43-character EncodingAESKey";
    return undefined;
  }

  function makeClient(): AibotClient {
    return createAibotClient({
      url: config.wsUrl,
      botId: config.botId!,
      secret: config.botSecret!,
      log,
      clock,
      ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
      ...(o.ackTimeoutMs ? { ackTimeoutMs: o.ackTimeoutMs } : {}),
      ...(o.kickedRetryMs !== undefined ? { kickedRetryMs: o.kickedRetryMs } : {}),
      ...(o.backoff ? { backoff: o.backoff } : {}),
      ...(o.WebSocket ? { WebSocket: o.WebSocket } : {}),
      onCallback,
      onStatus: (state, error) => health.set({ state, ...(error ? { error } : {}) }),
      onRejected: reject,
    });
  }

  return {
    name: "wecom",
    webhooks,
    ownsJid: (jid) => parseJid(jid) !== undefined,
    get lastRoutes() {
      return lastRoutes;
    },
    async connect(s) {
      sink = s;
      health.attach(s);
      const problem = configProblem();
      if (problem) {
        health.set({ state: "error", error: problem });
        throw new ChannelError("wecom", "config", problem);
      }
      if (config.mode === "app") {
        health.set({ state: "connected" });
        log.info("app mode: callback URL served", { path: config.webhookPath });
        return;
      }
      health.set({ state: "connecting" });
      client = makeClient();
      await client.start();
    },
    async disconnect() {
      for (const ctx of contexts.values()) if (ctx.closer) clearTimeout(ctx.closer);
      await client?.stop();
      client = undefined;
      health.set({ state: "disconnected" });
    },
    async send(jid, text, opts) {
      if (!parseJid(jid)) throw new ChannelError("wecom", "config", `not a WeCom chat id: ${jid}`);
      if (config.mode === "app") return sendApp(jid, text, opts);
      return sendAibot(jid, text, opts);
    },
    async setTyping(jid, on) {
      if (config.mode !== "aibot" || !client?.connected || !config.workingText) return;
      try {
        if (on) {
          const ctx = replyContext(jid);
          if (ctx && !ctx.streamId) await stream(ctx, config.workingText, false);
        } else {
          const id = latest.get(jid);
          const ctx = id ? contexts.get(id) : undefined;
          // The run ended. Its reply may still be on its way (delivery runs after the turn is
          // saved): if none has used the stream within a grace period, close it empty so it
          // stops spinning.
          if (ctx?.streamId && !ctx.done) {
            if (ctx.closer) clearTimeout(ctx.closer);
            const delay = Math.max(0, Math.min(streamGraceMs, ctx.at + windowMs - clock.now()));
            ctx.closer = setTimeout(() => {
              ctx.closer = undefined;
              if (ctx.done || !client?.connected) return;
              stream(ctx, "", true).catch((err) =>
                log.debug("wecom stream close failed", { error: errorMessage(err) }),
              );
            }, delay);
            ctx.closer.unref?.();
          }
        }
      } catch (err) {
        log.debug("wecom working stream failed", { jid, error: errorMessage(err) });
      }
    },
    health: () => ({ ...health.snapshot(), rejected: { ...rejected } }),
    async verify() {
      const problem = configProblem();
      if (problem) return { ok: false, detail: problem };
      try {
        if (config.mode === "app") {
          const t = await appApi!.getToken();
          return {
            ok: true,
            detail: `app ${config.agentId} of corp ${config.corpId}: access token issued (valid ${Math.round(t.expiresInMs / 1000)} s)`,
          };
        }
        const probe = makeClient();
        try {
          await probe.start();
          if (!probe.connected) return { ok: false, detail: `wecom: could not reach ${config.wsUrl}` };
        } finally {
          await probe.stop();
        }
        return { ok: true, detail: `AI bot ${config.botId}: subscribe accepted on ${config.wsUrl}` };
      } catch (err) {
        return { ok: false, detail: errorMessage(err) };
      }
    },
  };
}
