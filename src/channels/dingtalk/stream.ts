/**
 * The DingTalk Stream mode connection: `connections/open` → endpoint + single-use ticket →
 * WebSocket `endpoint?ticket=…`; every CALLBACK/EVENT frame is handed to `onFrame` in arrival
 * order and acked (code 200, same messageId) once that resolved — never if it threw; SYSTEM
 * `ping` is answered with its data echoed; SYSTEM `disconnect` opens a replacement connection
 * at once and closes the old one after it drained (the server cuts it 10 s later anyway).
 * Drops reconnect with a fresh ticket and backoff (1 s doubling to 60 s, jitter); a socket
 * silent for `silenceTimeoutMs` despite our pings is a zombie and is replaced.
 */
import type { Logger } from "../../log/index.ts";
import { type Backoff, sleep } from "../kit/index.ts";
import type { Connection } from "./api.ts";
import {
  ackDataFor,
  ackFrame,
  parseFrame,
  type StreamFrame,
  TOPIC_DISCONNECT,
  TOPIC_PING,
} from "./frames.ts";

export interface StreamClientOptions {
  /** Calls connections/open (a fresh ticket each time). */
  openConnection: () => Promise<Connection>;
  /**
   * Process one CALLBACK/EVENT frame. Resolve with the ack's code (200, or 404 for a topic we
   * do not handle); throw to leave it un-acked.
   */
  onFrame: (frame: StreamFrame) => Promise<200 | 404>;
  /** Errors after which reconnecting is pointless (bad credentials). */
  isFatal: (err: unknown) => boolean;
  onStatus: (state: "connecting" | "connected" | "error", error?: string) => void;
  /** Called once per refused frame with the reason (the caller logs and counts it). */
  onBadFrame: (reason: string) => void;
  backoff: Backoff;
  log: Logger;
  /** WebSocket ping interval. Default 30 s. */
  pingIntervalMs?: number;
  /** A socket with no frame and no pong for this long is replaced. Default 90 s. */
  silenceTimeoutMs?: number;
  /** Give up on a WebSocket that does not open within this. Default 15 s. */
  openTimeoutMs?: number;
  /** How long a replaced connection may keep draining before it is closed. Default 5 s. */
  drainMs?: number;
  WebSocket?: typeof WebSocket;
}

interface Conn {
  ws: WebSocket;
  id: number;
  lastSeen: number;
  pinger?: ReturnType<typeof setInterval>;
}

export interface StreamClient {
  /** Resolves after the first attempt (connected, or failed and retrying in the background). */
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly connected: boolean;
  /** Connections opened so far (tests and health). */
  readonly connectionCount: number;
}

export function createStreamClient(opts: StreamClientOptions): StreamClient {
  const WS = opts.WebSocket ?? WebSocket;
  const pingIntervalMs = opts.pingIntervalMs ?? 30_000;
  const silenceMs = opts.silenceTimeoutMs ?? 90_000;
  const openTimeoutMs = opts.openTimeoutMs ?? 15_000;
  const drainMs = opts.drainMs ?? 5_000;
  const log = opts.log;
  const abort = new AbortController();
  let current: Conn | null = null;
  let opening: WebSocket | null = null;
  let reconnecting: Promise<void> | null = null;
  let stopped = false;
  let connSeq = 0;
  let settleFirst: (() => void) | null = null;
  /** Frames are handled one at a time, in arrival order, across connections. */
  let chain: Promise<void> = Promise.resolve();

  function sendJson(conn: Conn, value: unknown): void {
    if (conn.ws.readyState === WS.OPEN) conn.ws.send(JSON.stringify(value));
  }

  function handleRaw(conn: Conn, raw: unknown): void {
    conn.lastSeen = Date.now();
    const parsed = parseFrame(
      typeof raw === "string" ? raw : raw instanceof ArrayBuffer ? raw : new Uint8Array(raw as ArrayBuffer),
    );
    if (!parsed.ok) {
      opts.onBadFrame(parsed.reason);
      // Acked all the same: pushing it again cannot make it readable.
      if (parsed.messageId) sendJson(conn, ackFrame(parsed.messageId, JSON.stringify({ response: null })));
      return;
    }
    const frame = parsed.frame;
    const messageId = frame.headers.messageId;
    if (frame.type === "SYSTEM") {
      const topic = frame.headers.topic;
      if (topic === TOPIC_PING) {
        if (messageId) sendJson(conn, ackFrame(messageId, frame.data));
        else sendJson(conn, { code: 200, headers: frame.headers, message: "OK", data: frame.data });
        return;
      }
      if (topic === TOPIC_DISCONNECT) {
        log.info("gateway asked to reconnect", { conn: conn.id, reason: reasonOf(frame.data) });
        if (conn === current) void reconnect();
        return;
      }
      log.debug("system frame ignored", { topic });
      return;
    }
    if (frame.type !== "CALLBACK" && frame.type !== "EVENT") {
      opts.onBadFrame(`unknown frame type ${JSON.stringify(frame.type.slice(0, 40))}`);
      return;
    }
    if (!messageId) {
      opts.onBadFrame(`${frame.type} frame without headers.messageId`);
      return;
    }
    chain = chain.then(async () => {
      let code: 200 | 404;
      try {
        code = await opts.onFrame(frame);
      } catch (err) {
        log.error("frame not processed, left un-acked", {
          topic: frame.headers.topic,
          messageId,
          error: (err as Error).message,
        });
        return;
      }
      sendJson(
        conn,
        code === 200
          ? ackFrame(messageId, ackDataFor(frame))
          : ackFrame(messageId, JSON.stringify({ response: null }), 404, "topic not supported"),
      );
    });
  }

  async function openOne(): Promise<Conn> {
    const { endpoint, ticket } = await opts.openConnection();
    if (stopped) throw new Error("stopped");
    const url = `${endpoint}${endpoint.includes("?") ? "&" : "?"}ticket=${encodeURIComponent(ticket)}`;
    const id = ++connSeq;
    const ws = new WS(url);
    opening = ws;
    const conn: Conn = { ws, id, lastSeen: Date.now() };
    ws.addEventListener("pong", () => {
      conn.lastSeen = Date.now();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let open = false;
        const timer = setTimeout(() => {
          reject(new Error("stream socket did not open in time"));
          ws.close();
        }, openTimeoutMs);
        ws.onopen = () => {
          open = true;
          clearTimeout(timer);
          conn.lastSeen = Date.now();
          startPinging(conn);
          resolve();
        };
        ws.onmessage = (ev) => handleRaw(conn, ev.data);
        ws.onerror = () => {
          // onclose follows and carries the decision
        };
        ws.onclose = (ev) => {
          clearTimeout(timer);
          clearInterval(conn.pinger);
          if (!open) {
            reject(new Error(`stream socket refused or closed before open (code ${ev.code})`));
            return;
          }
          onClosed(conn, ev.code);
        };
      });
    } finally {
      if (opening === ws) opening = null;
    }
    return conn;
  }

  function startPinging(conn: Conn) {
    conn.pinger = setInterval(() => {
      if (conn.ws.readyState !== WS.OPEN) return clearInterval(conn.pinger);
      if (Date.now() - conn.lastSeen > silenceMs) {
        clearInterval(conn.pinger);
        log.warn("stream socket silent, replacing it", {
          conn: conn.id,
          silentMs: Date.now() - conn.lastSeen,
        });
        (conn.ws as unknown as { terminate?: () => void }).terminate?.();
        onClosed(conn, 1006);
        return;
      }
      (conn.ws as unknown as { ping?: () => void }).ping?.();
    }, pingIntervalMs);
  }

  function onClosed(conn: Conn, code: number) {
    clearInterval(conn.pinger);
    if (conn !== current) return; // a replaced connection closing: expected
    current = null;
    if (stopped) return;
    log.warn("stream socket closed, reconnecting", { code, conn: conn.id });
    opts.onStatus("connecting", `socket closed (code ${code})`);
    void reconnect();
  }

  function fail(err: Error) {
    stopped = true;
    abort.abort();
    log.error(err.message);
    opts.onStatus("error", err.message);
    const c = current;
    current = null;
    c?.ws.close(1000, "stopping");
  }

  /** Close a replaced connection once the frames it delivered were handled (bounded wait). */
  async function retire(old: Conn) {
    const timer = new AbortController();
    await Promise.race([chain, sleep(drainMs, timer.signal)]);
    timer.abort();
    clearInterval(old.pinger);
    if (old.ws.readyState <= WS.OPEN) old.ws.close(1000, "replaced");
  }

  function reconnect(): Promise<void> {
    if (reconnecting) return reconnecting;
    reconnecting = (async () => {
      while (!stopped) {
        try {
          const conn = await openOne();
          if (stopped) {
            conn.ws.close(1000, "stopping");
            return;
          }
          const old = current;
          current = conn;
          opts.backoff.reset();
          opts.onStatus("connected");
          settleFirst?.();
          log.info("stream connected", { conn: conn.id });
          if (old) void retire(old);
          return;
        } catch (err) {
          if (opts.isFatal(err)) {
            fail(err as Error);
            settleFirst?.();
            return;
          }
          const wait = opts.backoff.next();
          log.warn("stream connect failed, retrying", { error: (err as Error).message, inMs: wait });
          opts.onStatus("connecting", (err as Error).message);
          settleFirst?.();
          await sleep(wait, abort.signal);
        }
      }
    })().finally(() => {
      reconnecting = null;
    });
    return reconnecting;
  }

  return {
    async start() {
      const first = new Promise<void>((resolve) => {
        settleFirst = () => {
          settleFirst = null;
          resolve();
        };
      });
      void reconnect();
      await first;
    },
    async stop() {
      stopped = true;
      abort.abort();
      const c = current;
      current = null;
      if (c) {
        clearInterval(c.pinger);
        c.ws.close(1000, "client stopping");
      }
      opening?.close(1000, "client stopping");
      if (reconnecting) {
        const timer = new AbortController();
        await Promise.race([reconnecting.catch(() => {}), sleep(1_000, timer.signal)]);
        timer.abort();
      }
      await chain;
    },
    get connected() {
      return current !== null;
    },
    get connectionCount() {
      return connSeq;
    },
  };
}

function reasonOf(data: string): string | undefined {
  try {
    const r = (JSON.parse(data) as { reason?: unknown }).reason;
    return typeof r === "string" ? r.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}
