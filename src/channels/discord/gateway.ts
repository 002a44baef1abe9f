/**
 * A Discord gateway client (v10, JSON encoding) over the WebSocket client: Hello → heartbeat
 * (first beat jittered, ACKs tracked; a missing ACK means a zombie connection → close and
 * Resume), Identify / Resume, dispatch sequence tracking, Reconnect (op 7), Invalid Session
 * (op 9) and close codes. Fatal closes (bad token, disallowed intents…) stop the client with a
 * clear error instead of looping.
 *
 * Dispatches are handed to `onDispatch` one at a time, in order. The sequence number used to
 * Resume is that of the last dispatch `onDispatch` finished with, so a connection lost while
 * events were still being stored replays them (duplicates are no-ops in the store). If
 * `onDispatch` throws, the client reconnects and resumes from the last finished event.
 */
import {
  GatewayCloseCodes,
  GatewayDispatchEvents,
  GatewayIntentBits,
  GatewayOpcodes,
  type GatewayReceivePayload,
} from "discord-api-types/v10";
import * as v from "valibot";
import type { Logger } from "../../log/index.ts";
import { type BackoffOptions, createBackoff, sleep } from "../kit/backoff.ts";
import { ChannelError } from "../kit/errors.ts";

export const DEFAULT_INTENTS =
  GatewayIntentBits.Guilds |
  GatewayIntentBits.GuildMessages |
  GatewayIntentBits.DirectMessages |
  GatewayIntentBits.MessageContent;

/** Close code we use for "going away but keep the session resumable" (1000/1001 invalidate it). */
const RESUMABLE_CLOSE = 4900;

/** The gateway closed with a code after which reconnecting cannot help (bad token, intents). */
export class DiscordGatewayError extends ChannelError {
  override name = "DiscordGatewayError";
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super("discord", closeCode === 4004 ? "auth" : "config", message);
  }
}

/** Close codes after which reconnecting cannot help, with what to tell the user. */
const FATAL: Record<number, string> = {
  [GatewayCloseCodes.AuthenticationFailed]:
    "discord rejected the bot token (gateway close 4004); check channels.discord.botToken (NGB_CHANNELS_DISCORD_BOT_TOKEN)",
  [GatewayCloseCodes.DisallowedIntents]:
    "discord refused the MESSAGE_CONTENT intent (gateway close 4014); enable it in the Discord Developer Portal → your app → Bot → Privileged Gateway Intents → Message Content Intent",
  [GatewayCloseCodes.InvalidIntents]: "discord says the gateway intents are invalid (close 4013)",
  [GatewayCloseCodes.InvalidShard]: "discord says the shard is invalid (close 4010)",
  [GatewayCloseCodes.ShardingRequired]:
    "discord requires sharding for this bot (close 4011, the bot is in too many guilds); not supported",
  [GatewayCloseCodes.InvalidAPIVersion]: "discord says the gateway API version is invalid (close 4012)",
};

/** Close codes after which the session is gone: identify afresh. */
const NEW_SESSION = new Set<number>([GatewayCloseCodes.InvalidSeq, GatewayCloseCodes.SessionTimedOut]);

const Payload = v.object({
  op: v.number(),
  d: v.optional(v.unknown()),
  s: v.optional(v.nullable(v.number())),
  t: v.optional(v.nullable(v.string())),
});

const Ready = v.object({
  session_id: v.string(),
  resume_gateway_url: v.optional(v.string()),
  user: v.object({ id: v.string(), username: v.optional(v.string()) }),
});
export type ReadyInfo = { sessionId: string; userId: string; username?: string };

export interface GatewayOptions {
  url: string;
  token: string;
  intents?: number;
  log: Logger;
  /** Handle one dispatch; the next one waits for it. Throwing makes the client resume. */
  onDispatch(event: string, data: unknown): Promise<void> | void;
  onReady?(info: ReadyInfo): void;
  onStatus?(state: "connecting" | "connected" | "disconnected" | "error", error?: string): void;
  backoff?: BackoffOptions;
  /** [min, max] wait in ms before re-identifying after a non-resumable Invalid Session. */
  invalidSessionDelayMs?: [number, number];
  /** Give up on a socket that sends no Hello within this many ms. Default 20 s. */
  helloTimeoutMs?: number;
  random?: () => number;
  WebSocket?: typeof WebSocket;
}

export interface Gateway {
  start(): void;
  stop(): Promise<void>;
  /** The last sequence number fully handled. */
  readonly seq: number | null;
  readonly sessionId: string | undefined;
  /** Set when the gateway stopped for good (fatal close code). */
  readonly fatalError: DiscordGatewayError | undefined;
}

function withQuery(url: string): string {
  const u = new URL(url);
  u.searchParams.set("v", "10");
  u.searchParams.set("encoding", "json");
  return u.toString();
}

export function createGateway(options: GatewayOptions): Gateway {
  const log = options.log;
  const random = options.random ?? Math.random;
  const WS = options.WebSocket ?? WebSocket;
  const intents = options.intents ?? DEFAULT_INTENTS;
  const backoff = createBackoff(options.backoff);
  const [invalidMin, invalidMax] = options.invalidSessionDelayMs ?? [1_000, 5_000];

  let stopped = true;
  let ws: WebSocket | undefined;
  let sessionId: string | undefined;
  let resumeUrl: string | undefined;
  /** Last seq received (for heartbeats) and last seq fully handled (for Resume). */
  let receivedSeq: number | null = null;
  let handledSeq: number | null = null;
  let fatalError: DiscordGatewayError | undefined;
  let heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  let helloTimer: ReturnType<typeof setTimeout> | undefined;
  let acked = true;
  /** Bumped per socket: stale sockets' events and queued dispatches are dropped. */
  let generation = 0;
  let chain: Promise<void> = Promise.resolve();
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let abort = new AbortController();
  let closed: Promise<void> = Promise.resolve();

  function send(payload: unknown) {
    if (ws && ws.readyState === WS.OPEN) ws.send(JSON.stringify(payload));
  }

  function clearTimers() {
    if (heartbeatTimer) clearTimeout(heartbeatTimer);
    if (helloTimer) clearTimeout(helloTimer);
    heartbeatTimer = undefined;
    helloTimer = undefined;
  }

  function heartbeat() {
    acked = false;
    send({ op: GatewayOpcodes.Heartbeat, d: receivedSeq });
  }

  function scheduleHeartbeats(interval: number) {
    const beat = (first: boolean) => {
      heartbeatTimer = setTimeout(
        () => {
          if (!acked) {
            log.warn("no heartbeat ACK before the next beat; reconnecting (zombie connection)");
            drop("zombie connection");
            return;
          }
          heartbeat();
          beat(false);
        },
        first ? Math.floor(interval * random()) : interval,
      );
    };
    acked = true;
    beat(true);
  }

  /** Close the current socket keeping the session resumable; `onClose` schedules the reconnect. */
  function drop(reason: string) {
    const sock = ws;
    if (!sock) return;
    log.debug("closing socket", { reason });
    try {
      sock.close(RESUMABLE_CLOSE, reason.slice(0, 100));
    } catch {
      // already closing
    }
    // A zombie may never complete the close handshake: don't wait for it.
    onClose(sock, RESUMABLE_CLOSE, reason);
  }

  function identify() {
    send({
      op: GatewayOpcodes.Identify,
      d: {
        token: options.token,
        intents,
        properties: { os: process.platform, browser: "ngb", device: "ngb" },
      },
    });
  }

  function resume() {
    send({ op: GatewayOpcodes.Resume, d: { token: options.token, session_id: sessionId, seq: handledSeq } });
  }

  function enqueueDispatch(gen: number, event: string, data: unknown, seq: number | null | undefined) {
    chain = chain.then(async () => {
      if (gen !== generation || stopped) return;
      try {
        await options.onDispatch(event, data);
        if (typeof seq === "number" && gen === generation) handledSeq = seq;
      } catch (err) {
        if (gen !== generation) return;
        log.error("handling a dispatch failed; resuming from the last handled event", {
          event,
          seq,
          error: (err as Error)?.message ?? String(err),
        });
        drop("dispatch handler failed");
      }
    });
  }

  function onMessage(sock: WebSocket, gen: number, raw: unknown) {
    if (sock !== ws) return;
    let parsed: v.InferOutput<typeof Payload>;
    try {
      const res = v.safeParse(Payload, JSON.parse(String(raw)));
      if (!res.success) throw new Error(res.issues[0]?.message);
      parsed = res.output;
    } catch (err) {
      log.warn("ignored malformed gateway payload", { error: (err as Error)?.message });
      return;
    }
    const p = parsed as GatewayReceivePayload;
    switch (p.op) {
      case GatewayOpcodes.Hello: {
        if (helloTimer) clearTimeout(helloTimer);
        const interval = (p.d as { heartbeat_interval?: unknown })?.heartbeat_interval;
        if (typeof interval !== "number" || interval <= 0) {
          log.warn("hello without a heartbeat interval; reconnecting");
          drop("bad hello");
          return;
        }
        scheduleHeartbeats(interval);
        if (sessionId) resume();
        else identify();
        return;
      }
      case GatewayOpcodes.HeartbeatAck:
        acked = true;
        return;
      case GatewayOpcodes.Heartbeat:
        heartbeat();
        return;
      case GatewayOpcodes.Reconnect:
        log.info("gateway asked to reconnect");
        drop("reconnect requested");
        return;
      case GatewayOpcodes.InvalidSession: {
        if (p.d === true && sessionId) {
          log.info("invalid session (resumable); resuming");
          drop("invalid session, resumable");
          return;
        }
        log.info("invalid session; identifying again");
        sessionId = undefined;
        resumeUrl = undefined;
        receivedSeq = null;
        handledSeq = null;
        const wait = invalidMin + Math.floor(random() * Math.max(0, invalidMax - invalidMin));
        void sleep(wait, abort.signal).then(() => {
          if (sock === ws && !stopped) identify();
        });
        return;
      }
      case GatewayOpcodes.Dispatch: {
        if (typeof p.s === "number") receivedSeq = Math.max(receivedSeq ?? 0, p.s);
        if (p.t === GatewayDispatchEvents.Ready) {
          const ready = v.safeParse(Ready, p.d);
          if (!ready.success) {
            log.warn("malformed READY; reconnecting");
            drop("bad ready");
            return;
          }
          sessionId = ready.output.session_id;
          resumeUrl = ready.output.resume_gateway_url;
          handledSeq = p.s;
          backoff.reset();
          options.onReady?.({
            sessionId,
            userId: ready.output.user.id,
            username: ready.output.user.username,
          });
          options.onStatus?.("connected");
          log.info("gateway ready", { user: ready.output.user.username });
          return;
        }
        if (p.t === GatewayDispatchEvents.Resumed) {
          backoff.reset();
          options.onStatus?.("connected");
          log.info("gateway resumed", { seq: handledSeq });
          return;
        }
        enqueueDispatch(gen, p.t, p.d, p.s);
        return;
      }
      default:
        return;
    }
  }

  function onClose(sock: WebSocket, code: number, reason: string) {
    if (sock !== ws) return;
    ws = undefined;
    generation++;
    clearTimers();
    if (stopped) return;
    const fatal = FATAL[code];
    if (fatal) {
      fatalError = new DiscordGatewayError(code, fatal);
      stopped = true;
      log.error(fatal);
      options.onStatus?.("error", fatal);
      return;
    }
    if (NEW_SESSION.has(code)) {
      sessionId = undefined;
      resumeUrl = undefined;
      receivedSeq = null;
      handledSeq = null;
    }
    const delay = backoff.next();
    const error = `gateway closed (${code}${reason ? ` ${reason}` : ""}); reconnecting in ${delay} ms`;
    options.onStatus?.("error", error);
    log.warn("gateway closed; reconnecting", { code, reason, retryInMs: delay, resume: Boolean(sessionId) });
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      // Resume only from events fully handled: wait for the queue to drain first.
      void chain.then(() => open());
    }, delay);
  }

  function open() {
    if (stopped) return;
    const url = withQuery(sessionId && resumeUrl ? resumeUrl : options.url);
    options.onStatus?.("connecting");
    const gen = ++generation;
    let sock: WebSocket;
    try {
      sock = new WS(url);
    } catch (err) {
      log.warn("cannot open gateway socket", { error: (err as Error).message });
      const fake = {} as WebSocket;
      ws = fake;
      onClose(fake, 1006, "open failed");
      return;
    }
    ws = sock;
    let resolveClosed!: () => void;
    closed = new Promise((r) => {
      resolveClosed = r;
    });
    helloTimer = setTimeout(() => {
      log.warn("no Hello from the gateway; reconnecting");
      drop("hello timeout");
    }, options.helloTimeoutMs ?? 20_000);
    sock.addEventListener("message", (ev) => onMessage(sock, gen, ev.data));
    sock.addEventListener("close", (ev) => {
      resolveClosed();
      onClose(sock, ev.code, ev.reason);
    });
    sock.addEventListener("error", () => {
      // A close event follows; nothing to do here but not let it throw.
    });
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      fatalError = undefined;
      abort = new AbortController();
      open();
    },
    async stop() {
      stopped = true;
      abort.abort();
      if (reconnectTimer) clearTimeout(reconnectTimer);
      clearTimers();
      const sock = ws;
      ws = undefined;
      generation++;
      if (sock && sock.readyState !== WS.CLOSED) {
        try {
          sock.close(1000, "shutting down");
        } catch {
          // ignore
        }
        await Promise.race([closed, sleep(1_000)]);
      }
      await chain;
      options.onStatus?.("disconnected");
    },
    get seq() {
      return handledSeq;
    },
    get sessionId() {
      return sessionId;
    },
    get fatalError() {
      return fatalError;
    },
  };
}
