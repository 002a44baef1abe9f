/**
 * The Feishu/Lark long connection ("长连接"): bootstrap with `POST /callback/ws/endpoint`, a plain
 * WebSocket carrying binary `pbbp2.Frame`s, a ping control frame every `PingInterval` seconds
 * (the pong's JSON payload replaces the client config), data frames reassembled from `sum`/`seq`
 * parts and acknowledged with the same frame plus `biz_rt` and payload `{"code":200}` (500 when
 * the handler failed, so the platform re-pushes), reconnect after `random(0, ReconnectNonce)` s and
 * then every `ReconnectInterval` s up to `ReconnectCount` tries (−1 = forever).
 *
 * A refused upgrade is diagnosed by repeating the handshake over HTTP to read the server's
 * `handshake-status` / `handshake-autherrcode` headers (Bun's WebSocket does not expose them):
 * 403 and 514 + 1000040350 (connection limit) are configuration errors and stop the loop, as the
 * official SDKs do; anything else is retried. One error boundary: a bad frame is logged and
 * dropped, never fatal.
 */
import type { Logger } from "../../log/index.ts";
import { errorMessage } from "../../util/errors.ts";
import { sleep } from "../kit/index.ts";
import { type ClientConfig, FeishuAuthError, type FeishuApi, FeishuNetworkError } from "./api.ts";
import { decodeFrame, encodeFrame, FRAME_METHOD, type Frame, FrameDecodeError, header } from "./frame.ts";
import { createReassembler, FragmentError } from "./reassembly.ts";

export type ConnectionState = "connecting" | "connected" | "disconnected" | "error";

export interface LongConnectionOptions {
  api: FeishuApi;
  log: Logger;
  /**
   * Handle one complete event payload (UTF-8 JSON). Resolve once it is safely stored (→ ack 200);
   * reject to have the platform re-push it (→ ack 500).
   */
  onEvent(payload: Uint8Array, meta: { messageId?: string; traceId?: string }): Promise<void>;
  onState(state: ConnectionState, error?: string): void;
  /** Counted refusals (bad frames…) for metrics. */
  onRejected?(reason: string): void;
  random?: () => number;
  /** Cap on reconnect waits (ms), whatever the server's config says. Default 5 min. */
  maxReconnectWaitMs?: number;
}

export interface LongConnection {
  start(): void;
  stop(): Promise<void>;
  /** The config in force (from the endpoint, updated by pongs). */
  readonly config: ClientConfig | undefined;
  /** Close the current socket (tests, or a detected dead link); the loop reconnects. */
  drop(): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Probe a refused upgrade over HTTP for the handshake headers. */
async function diagnoseHandshake(url: string, signal: AbortSignal): Promise<Error> {
  try {
    const res = await fetch(url.replace(/^ws/, "http"), {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64"),
      },
      signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
    });
    await res.body?.cancel().catch(() => {});
    const status = Number(res.headers.get("handshake-status") ?? res.status);
    const msg = res.headers.get("handshake-msg") ?? "";
    const auth = Number(res.headers.get("handshake-autherrcode") ?? 0);
    const detail = `handshake-status ${status}${msg ? ` (${msg.slice(0, 200)})` : ""}${auth ? `, autherrcode ${auth}` : ""}`;
    if (status === 403)
      return new FeishuAuthError(`feishu refused the long connection: forbidden: ${detail}`);
    if (status === 514 && auth === 1000040350) {
      return new FeishuAuthError(
        `feishu refused the long connection: too many connections for this app: ${detail}`,
      );
    }
    if (status === 514)
      return new FeishuNetworkError(`feishu refused the long connection: auth failed: ${detail}`);
    return new FeishuNetworkError(`feishu refused the long connection: ${detail}`);
  } catch (err) {
    return new FeishuNetworkError(`feishu long connection failed: ${errorMessage(err)}`);
  }
}

export function createLongConnection(opts: LongConnectionOptions): LongConnection {
  const log = opts.log;
  const random = opts.random ?? Math.random;
  const maxWait = opts.maxReconnectWaitMs ?? 5 * 60_000;
  let config: ClientConfig | undefined;
  let abort = new AbortController();
  let loop: Promise<void> | undefined;
  let socket: WebSocket | undefined;
  const reassembler = createReassembler();

  const reject = (reason: string, detail: Record<string, unknown> = {}) => {
    opts.onRejected?.(reason);
    log.warn(reason, detail);
  };

  function ack(ws: WebSocket, frame: Frame, code: number, startedAt: number) {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(
      encodeFrame({
        ...frame,
        headers: [...frame.headers, { key: "biz_rt", value: String(Date.now() - startedAt) }],
        payload: enc.encode(JSON.stringify({ code })),
      }),
    );
  }

  function applyPong(payload: Uint8Array | undefined) {
    if (!payload || payload.length === 0) return;
    let pong: Partial<Record<keyof ClientConfig, unknown>>;
    try {
      pong = JSON.parse(dec.decode(payload));
    } catch {
      reject("feishu pong payload is not JSON; keeping the current config");
      return;
    }
    const ok = (x: unknown, min: number) => typeof x === "number" && Number.isFinite(x) && x >= min;
    if (!config) return;
    if (ok(pong.PingInterval, 1)) config.PingInterval = pong.PingInterval as number;
    if (ok(pong.ReconnectCount, -1)) config.ReconnectCount = pong.ReconnectCount as number;
    if (ok(pong.ReconnectInterval, 0)) config.ReconnectInterval = pong.ReconnectInterval as number;
    if (ok(pong.ReconnectNonce, 0)) config.ReconnectNonce = pong.ReconnectNonce as number;
  }

  async function onData(ws: WebSocket, frame: Frame) {
    const type = header(frame, "type");
    const startedAt = Date.now();
    if (type !== "event") {
      // Card callbacks and future types: acknowledge so they are not re-pushed.
      ack(ws, frame, 200, startedAt);
      log.debug("ignored long-connection frame", { type });
      return;
    }
    const messageId = header(frame, "message_id");
    const traceId = header(frame, "trace_id");
    let whole: Uint8Array | undefined;
    try {
      whole = reassembler.add(
        messageId ?? "",
        header(frame, "sum"),
        header(frame, "seq"),
        frame.payload ?? new Uint8Array(),
      );
    } catch (err) {
      if (!(err instanceof FragmentError)) throw err;
      reject("feishu event fragment refused", { messageId, traceId, problem: err.message });
      return;
    }
    if (!whole) return;
    try {
      await opts.onEvent(whole, { messageId, traceId });
      ack(ws, frame, 200, startedAt);
    } catch (err) {
      log.error("feishu event not stored; the platform will re-push it", {
        messageId,
        error: errorMessage(err),
      });
      ack(ws, frame, 500, startedAt);
    }
  }

  /** One connection's life: resolves when it closes, rejects when it never opened. */
  function runSocket(url: string, signal: AbortSignal): Promise<void> {
    const serviceId = Number(new URL(url).searchParams.get("service_id") ?? 0) | 0;
    return new Promise((resolve, rejectP) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      socket = ws;
      let opened = false;
      let pingTimer: ReturnType<typeof setTimeout> | undefined;
      let lastInbound = Date.now();
      const onAbort = () => ws.close(1000, "client stopping");
      signal.addEventListener("abort", onAbort, { once: true });

      const ping = () => {
        const interval = (config?.PingInterval ?? 120) * 1000;
        // Nothing at all from the server for two ping periods: the link is dead.
        if (Date.now() - lastInbound > 2 * interval + 5_000) {
          log.warn("feishu long connection silent; reconnecting");
          ws.close(4000, "no pong");
          return;
        }
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(
            encodeFrame({
              seqId: 0n,
              logId: 0n,
              service: serviceId,
              method: FRAME_METHOD.control,
              headers: [{ key: "type", value: "ping" }],
            }),
          );
        }
        pingTimer = setTimeout(ping, interval);
      };

      ws.onopen = () => {
        opened = true;
        opts.onState("connected");
        log.info("feishu long connection open");
        ping();
      };
      ws.onmessage = (ev) => {
        lastInbound = Date.now();
        if (!(ev.data instanceof ArrayBuffer)) {
          reject("feishu sent a text frame on the long connection; ignored");
          return;
        }
        let frame: Frame;
        try {
          frame = decodeFrame(new Uint8Array(ev.data));
        } catch (err) {
          if (!(err instanceof FrameDecodeError)) throw err;
          reject("feishu frame refused: not a valid pbbp2.Frame", {
            problem: err.message,
            bytes: ev.data.byteLength,
          });
          return;
        }
        if (frame.method === FRAME_METHOD.control) {
          if (header(frame, "type") === "pong") applyPong(frame.payload);
          return;
        }
        if (frame.method === FRAME_METHOD.data) {
          onData(ws, frame).catch((err) =>
            log.error("feishu frame handling failed", { error: errorMessage(err) }),
          );
          return;
        }
        reject("feishu frame with an unknown method ignored", { method: frame.method });
      };
      ws.onclose = (ev) => {
        clearTimeout(pingTimer);
        signal.removeEventListener("abort", onAbort);
        if (socket === ws) socket = undefined;
        if (opened) {
          log.info("feishu long connection closed", { code: ev.code });
          resolve();
        } else if (signal.aborted) resolve();
        else diagnoseHandshake(url, signal).then(rejectP, rejectP);
      };
    });
  }

  async function run(signal: AbortSignal) {
    let failures = 0;
    while (!signal.aborted) {
      let connectedThisRound = false;
      try {
        opts.onState("connecting");
        const ep = await opts.api.wsEndpoint(signal);
        config = { ...ep.config };
        const before = Date.now();
        await runSocket(ep.url, signal);
        connectedThisRound = true;
        failures = 0;
        if (signal.aborted) return;
        opts.onState("disconnected", "long connection closed by the server");
        log.debug("feishu connection lasted", { ms: Date.now() - before });
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof FeishuAuthError) {
          opts.onState("error", err.message);
          log.error(err.message);
          return;
        }
        failures++;
        opts.onState("error", errorMessage(err));
        log.warn("feishu long connection failed", { error: errorMessage(err), attempt: failures });
      }
      const c = config ?? {
        PingInterval: 120,
        ReconnectCount: -1,
        ReconnectInterval: 120,
        ReconnectNonce: 30,
      };
      if (c.ReconnectCount >= 0 && failures > c.ReconnectCount) {
        const msg = `feishu long connection gave up after ${failures} failed attempts`;
        opts.onState("error", msg);
        log.error(msg);
        return;
      }
      // First try after a drop: a random pause within the nonce (spreads reconnect storms);
      // after a failed try: the server's reconnect interval.
      const waitS = connectedThisRound || failures === 1 ? random() * c.ReconnectNonce : c.ReconnectInterval;
      await sleep(Math.min(maxWait, Math.round(waitS * 1000)), signal);
    }
  }

  return {
    get config() {
      return config;
    },
    start() {
      if (loop) return;
      abort = new AbortController();
      loop = run(abort.signal).catch((err) => {
        opts.onState("error", errorMessage(err));
        log.error("feishu long connection loop ended", { error: errorMessage(err) });
      });
    },
    async stop() {
      abort.abort();
      socket?.close(1000, "client stopping");
      await loop;
      loop = undefined;
      reassembler.clear();
      opts.onState("disconnected");
    },
    drop() {
      socket?.close(4001, "dropped");
    },
  };
}
