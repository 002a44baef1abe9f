/**
 * The Socket Mode connection manager: opens a WebSocket URL from `apps.connections.open`,
 * waits for `hello`, hands every envelope to `onEnvelope` and acks it only after that resolved
 * (so an envelope lost with a dropped socket is redelivered by Slack), and reconnects with
 * backoff + jitter. On a `disconnect` warning / refresh it opens the replacement first and
 * closes the old socket once the new one said hello, so there is no gap; `link_disabled`
 * stops for good with a clear error.
 */
import type { Logger } from "../../log/index.ts";
import { type Backoff, sleep } from "../kit/backoff.ts";
import { ChannelError } from "../kit/errors.ts";
import { SocketFrame } from "./map.ts";
import * as v from "valibot";

/** Socket Mode was switched off for the app: reconnecting cannot help. */
export class SlackLinkDisabledError extends ChannelError {
  override name = "SlackLinkDisabledError";
  constructor() {
    super(
      "slack",
      "config",
      "slack socket mode is disabled for this app (link_disabled): enable Socket Mode in the app settings",
    );
  }
}

export interface SocketModeOptions {
  /** Calls apps.connections.open; resolves with the wss URL. */
  openUrl: () => Promise<string>;
  /** Process one envelope; the ack is sent when this resolves, never if it throws. */
  onEnvelope: (frame: SocketFrame) => Promise<void>;
  /** Errors after which reconnecting is pointless (bad credentials). */
  isFatal: (err: unknown) => boolean;
  onStatus: (state: "connecting" | "connected" | "error", error?: string) => void;
  backoff: Backoff;
  log: Logger;
  /** How long to wait for `hello` after the socket opened. Default 15 s. */
  helloTimeoutMs?: number;
  /**
   * Ping the server this often; a socket that has been silent (no frame, no pong) for two
   * intervals is a zombie (half-open TCP after a NAT timeout or sleep) and is dropped and
   * replaced. Default 10 s.
   */
  pingIntervalMs?: number;
  WebSocket?: typeof WebSocket;
}

interface Conn {
  ws: WebSocket;
  id: number;
  lastSeen: number;
  pinger?: ReturnType<typeof setInterval>;
}

export function createSocketModeClient(opts: SocketModeOptions) {
  const WS = opts.WebSocket ?? WebSocket;
  const helloTimeoutMs = opts.helloTimeoutMs ?? 15_000;
  const pingIntervalMs = opts.pingIntervalMs ?? 10_000;
  const log = opts.log;
  const abort = new AbortController();
  let current: Conn | null = null;
  let reconnecting: Promise<void> | null = null;
  let stopped = false;
  let connSeq = 0;
  /** A socket still waiting for hello (closed by stop()). */
  let opening: WebSocket | null = null;
  /** Resolves start() after the first attempt, whatever its outcome. */
  let settleFirst: (() => void) | null = null;
  /** Envelopes are handled one at a time, in arrival order (store order = platform order). */
  let chain: Promise<void> = Promise.resolve();

  function handleFrame(conn: Conn, data: unknown) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data as ArrayBuffer));
    } catch {
      log.warn("ignored a socket frame that is not JSON");
      return;
    }
    const frame = v.safeParse(SocketFrame, parsed);
    if (!frame.success) {
      log.warn("ignored a socket frame without a type");
      return;
    }
    const f = frame.output;
    if (f.type === "hello") return; // handled by the opener
    if (f.type === "disconnect") {
      log.info("server asked to reconnect", { reason: f.reason, conn: conn.id });
      if (f.reason === "link_disabled") {
        fail(new SlackLinkDisabledError());
        return;
      }
      // warning / refresh_requested / anything new: open the replacement; the old socket keeps
      // serving until the new one is ready.
      if (conn === current) void reconnect();
      return;
    }
    if (!f.envelope_id) {
      log.debug("frame without envelope_id ignored", { type: f.type });
      return;
    }
    const envelopeId = f.envelope_id;
    chain = chain.then(async () => {
      try {
        await opts.onEnvelope(f);
      } catch (err) {
        // Not acked: Slack redelivers it (to this or a later connection).
        log.error("envelope not processed, left un-acked for redelivery", {
          type: f.type,
          error: (err as Error).message,
        });
        return;
      }
      if (conn.ws.readyState === WS.OPEN) conn.ws.send(JSON.stringify({ envelope_id: envelopeId }));
    });
  }

  /** Open one connection and resolve once Slack said hello. */
  async function openOne(): Promise<Conn> {
    const url = await opts.openUrl();
    const id = ++connSeq;
    if (stopped) throw new Error("stopped");
    const ws = new WS(url);
    opening = ws;
    const conn: Conn = { ws, id, lastSeen: Date.now() };
    const seen = () => {
      conn.lastSeen = Date.now();
    };
    ws.addEventListener("pong", seen);
    ws.addEventListener("ping", seen);
    await new Promise<void>((resolve, reject) => {
      let helloed = false;
      const timer = setTimeout(() => {
        reject(new Error("no hello from slack within timeout"));
        ws.close();
      }, helloTimeoutMs);
      ws.onmessage = (ev) => {
        seen();
        if (!helloed) {
          try {
            const f = JSON.parse(String(ev.data)) as { type?: string };
            if (f.type === "hello") {
              helloed = true;
              clearTimeout(timer);
              startPinging(conn);
              resolve();
              return;
            }
          } catch {
            // fall through to the normal handler, which logs it
          }
        }
        handleFrame(conn, ev.data);
      };
      ws.onerror = () => {
        // onclose follows and carries the decision
      };
      ws.onclose = (ev) => {
        clearTimeout(timer);
        clearInterval(conn.pinger);
        if (!helloed) {
          reject(new Error(`socket closed before hello (code ${ev.code})`));
          return;
        }
        onClosed(conn, ev.code);
      };
    }).finally(() => {
      if (opening === ws) opening = null;
    });
    return conn;
  }

  function startPinging(conn: Conn) {
    conn.pinger = setInterval(() => {
      if (conn.ws.readyState !== WS.OPEN) return clearInterval(conn.pinger);
      if (Date.now() - conn.lastSeen > 2 * pingIntervalMs) {
        clearInterval(conn.pinger);
        log.warn("socket silent, dropping it as a zombie", {
          conn: conn.id,
          silentMs: Date.now() - conn.lastSeen,
        });
        (conn.ws as unknown as Bun.WebSocket).terminate();
        onClosed(conn, 1006);
        return;
      }
      (conn.ws as unknown as Bun.WebSocket).ping();
    }, pingIntervalMs);
  }

  function onClosed(conn: Conn, code: number) {
    clearInterval(conn.pinger);
    if (conn !== current) return; // a replaced socket closing: expected
    current = null;
    if (stopped) return;
    log.warn("socket closed, reconnecting", { code, conn: conn.id });
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

  /** Establish a (replacement) connection, retrying with backoff until it works or we stop. */
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
          log.info("socket mode connected", { conn: conn.id });
          if (old && old.ws.readyState <= WS.OPEN) old.ws.close(1000, "replaced");
          return;
        } catch (err) {
          if (opts.isFatal(err)) {
            fail(err as Error);
            settleFirst?.();
            return;
          }
          const wait = opts.backoff.next();
          log.warn("connect failed, retrying", { error: (err as Error).message, inMs: wait });
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
    /** Start; resolves after the first attempt (connected, or failed and retrying in the background). */
    async start(): Promise<void> {
      // Don't block the caller for the whole retry loop: resolve once connected or first failure.
      const first = new Promise<void>((resolve) => {
        settleFirst = () => {
          settleFirst = null;
          resolve();
        };
      });
      void reconnect();
      await first;
    },
    async stop(): Promise<void> {
      stopped = true;
      abort.abort();
      const c = current;
      current = null;
      c?.ws.close(1000, "client stopping");
      opening?.close(1000, "client stopping");
      // An apps.connections.open request in flight may take its full timeout; don't wait for it.
      if (reconnecting) {
        const timer = new AbortController();
        await Promise.race([reconnecting.catch(() => {}), sleep(1_000, timer.signal)]);
        timer.abort();
      }
      await chain;
    },
    get connected(): boolean {
      return current !== null;
    },
  };
}
export type SocketModeClient = ReturnType<typeof createSocketModeClient>;
