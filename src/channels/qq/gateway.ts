/**
 * The QQ WebSocket gateway (bot-docs `event-emit.md`; legacy, QQ steers new bots to webhooks):
 * Hello (op 10, heartbeat_interval) → Identify (op 2, token + intents) or Resume (op 6,
 * session_id + last seq) → READY / RESUMED → Dispatch (op 0, seq `s`) … with Heartbeat (op 1,
 * the last seq) answered by op 11. Reconnect (op 7) resumes; Invalid Session (op 9) drops the
 * session and identifies again — after a growing back-off, so a gateway that answers every
 * Identify with op 9 never makes a tight loop. Close codes per `gateway/error/error.md`.
 *
 * Dispatches are handled one at a time, and the seq we send in heartbeats and resumes advances
 * only after a dispatch was handled (stored): a drop resumes from what the store has, and a
 * store failure closes the socket so the gateway replays from there.
 */
import type { Logger } from "../../log/index.ts";
import { errorMessage } from "../../util/errors.ts";
import { type BackoffOptions, createBackoff } from "../kit/backoff.ts";
import type { Clock } from "../kit/clock.ts";
import { ChannelError } from "../kit/errors.ts";

export interface QqGatewayOptions {
  /** Token (from the shared cache) and the gateway URL. */
  token(): Promise<string>;
  invalidateToken(): void;
  gatewayUrl(token: string): Promise<string>;
  intents: number;
  log: Logger;
  clock: Clock;
  backoff?: BackoffOptions;
  /** Wait after close code 4008 (sending too fast). Default 60 s. */
  tooFastWaitMs?: number;
  maxFrameBytes?: number;
  onDispatch(t: string, d: unknown, id: string | undefined): Promise<void>;
  onReady(user: { id?: string; username?: string }): void;
  onStatus(state: "connecting" | "connected" | "disconnected" | "error", error?: string): void;
  onRejected(reason: string): void;
  WebSocket?: typeof WebSocket;
}

export interface QqGateway {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly sessionId: string | undefined;
  readonly seq: number | null;
  readonly connections: number;
  readonly resumes: number;
}

/** Configuration errors: retrying cannot help. */
const FATAL = new Set([4001, 4002, 4010, 4011, 4012, 4013, 4014, 4914, 4915]);

type Outcome = "resume" | "identify" | "auth" | "too_fast" | "fatal";

export function createQqGateway(o: QqGatewayOptions): QqGateway {
  const log = o.log;
  const WS = o.WebSocket ?? WebSocket;
  const maxFrame = o.maxFrameBytes ?? 1024 * 1024;
  const backoff = createBackoff({ initialMs: 1_000, maxMs: 60_000, ...o.backoff });
  let sessionId: string | undefined;
  let seq: number | null = null;
  let stopped = false;
  let ever = false;
  let connections = 0;
  let resumes = 0;
  let ws: WebSocket | undefined;
  let abort = new AbortController();
  let loop: Promise<void> | undefined;
  let fatalMessage = "";

  function runOnce(url: string, token: string, first: { ok(): void }): Promise<Outcome> {
    return new Promise((resolve) => {
      connections++;
      const sock = new WS(url);
      ws = sock;
      let beat: ReturnType<typeof setInterval> | undefined;
      let acked = true;
      let outcome: Outcome | undefined;
      let chain: Promise<void> = Promise.resolve();
      const end = (why: Outcome, code = 4000, reason = "") => {
        outcome ??= why;
        try {
          sock.close(code, reason);
        } catch {}
      };
      const send = (frame: unknown) => {
        try {
          sock.send(JSON.stringify(frame));
        } catch {}
      };
      sock.onmessage = (ev) => {
        const data = typeof ev.data === "string" ? ev.data : Buffer.from(ev.data as ArrayBuffer).toString();
        if (data.length > maxFrame) {
          o.onRejected("oversized_frame");
          log.warn("qq gateway frame refused: too large", { bytes: data.length });
          return;
        }
        let f: { op?: unknown; d?: unknown; s?: unknown; t?: unknown; id?: unknown };
        try {
          f = JSON.parse(data);
          if (!f || typeof f !== "object") throw new Error("not an object");
        } catch {
          o.onRejected("bad_frame");
          log.warn("qq gateway frame refused: not a JSON object");
          return;
        }
        switch (f.op) {
          case 10: {
            const ms = Number((f.d as { heartbeat_interval?: unknown } | undefined)?.heartbeat_interval);
            const interval = Number.isFinite(ms) && ms >= 10 ? Math.min(ms, 300_000) : 45_000;
            if (sessionId) {
              resumes++;
              send({ op: 6, d: { token: `QQBot ${token}`, session_id: sessionId, seq: seq ?? 0 } });
            } else
              send({
                op: 2,
                d: { token: `QQBot ${token}`, intents: o.intents, shard: [0, 1], properties: {} },
              });
            beat = setInterval(() => {
              if (!acked) {
                log.warn("qq heartbeat not acknowledged; reconnecting");
                end("resume");
                return;
              }
              acked = false;
              send({ op: 1, d: seq });
            }, interval);
            return;
          }
          case 11:
            acked = true;
            return;
          case 1:
            send({ op: 1, d: seq });
            return;
          case 7:
            log.info("qq gateway asked to reconnect");
            end("resume", 4000, "reconnect");
            return;
          case 9:
            o.onRejected("invalid_session");
            log.warn("qq gateway: invalid session; identifying again after a pause", {
              attempt: backoff.attempts + 1,
            });
            sessionId = undefined;
            seq = null;
            end("identify", 4000, "invalid session");
            return;
          case 0: {
            const t = typeof f.t === "string" ? f.t : "";
            const s = typeof f.s === "number" && Number.isInteger(f.s) ? f.s : undefined;
            const id = typeof f.id === "string" ? f.id : undefined;
            chain = chain.then(async () => {
              if (outcome) return; // the socket is going: the gateway replays from our seq
              if (t === "READY") {
                const d = f.d as
                  | { session_id?: unknown; user?: { id?: string; username?: string } }
                  | undefined;
                if (typeof d?.session_id === "string") sessionId = d.session_id;
                o.onReady(d?.user ?? {});
              }
              if (t === "READY" || t === "RESUMED") {
                ever = true;
                backoff.reset();
                o.onStatus("connected");
                first.ok();
              } else {
                try {
                  await o.onDispatch(t, f.d, id);
                } catch (err) {
                  log.error("qq event could not be handled; resuming to get it again", {
                    t,
                    error: errorMessage(err),
                  });
                  end("resume");
                  return;
                }
              }
              if (s !== undefined && (seq === null || s > seq)) seq = s;
            });
            return;
          }
          default:
            o.onRejected("unknown_op");
            log.warn("qq gateway frame with an unknown opcode ignored", { op: String(f.op).slice(0, 12) });
        }
      };
      sock.onerror = () => {};
      sock.onclose = (ev) => {
        if (beat) clearInterval(beat);
        const code = ev.code;
        let why: Outcome = outcome ?? "resume";
        if (!outcome) {
          if (FATAL.has(code)) {
            why = "fatal";
            fatalMessage = `qq gateway closed with ${code} (${ev.reason || "configuration error"}): check the app id, intents and the bot's status`;
          } else if (code === 4004) why = "auth";
          else if (code === 4006 || code === 4007 || (code >= 4900 && code <= 4913)) why = "identify";
          else if (code === 4008) why = "too_fast";
        }
        if (why === "identify") {
          sessionId = undefined;
          seq = null;
        }
        void chain.finally(() => resolve(why));
      };
    });
  }

  async function run(first: { ok(): void; fail(e: Error): void }) {
    while (!stopped) {
      o.onStatus("connecting");
      let outcome: Outcome;
      try {
        const token = await o.token();
        const url = await o.gatewayUrl(token);
        if (stopped) return;
        outcome = await runOnce(url, token, first);
      } catch (err) {
        if (err instanceof ChannelError && err.kind === "auth" && !ever) {
          o.onStatus("error", err.message);
          first.fail(err);
          return;
        }
        log.warn("qq gateway connect failed", { error: errorMessage(err) });
        o.onStatus("error", errorMessage(err));
        outcome = "resume";
        first.ok(); // network trouble at start: start() returns, we keep trying
      }
      if (stopped) return;
      if (outcome !== "fatal") first.ok(); // not up yet, but retrying: connect() does not hang
      if (outcome === "fatal") {
        log.error(fatalMessage);
        o.onStatus("error", fatalMessage);
        first.fail(new ChannelError("qq", "config", fatalMessage));
        return;
      }
      if (outcome === "auth") o.invalidateToken();
      const delay = outcome === "too_fast" ? (o.tooFastWaitMs ?? 60_000) : backoff.next();
      o.onStatus("disconnected");
      log.info("qq gateway reconnecting", { outcome, inMs: delay, resume: sessionId !== undefined });
      await o.clock.sleep(delay, abort.signal);
    }
  }

  return {
    start() {
      stopped = false;
      abort = new AbortController();
      return new Promise<void>((resolve, reject) => {
        let settled = false;
        loop = run({
          ok() {
            if (settled) return;
            settled = true;
            resolve();
          },
          fail(e) {
            if (settled) return;
            settled = true;
            reject(e);
          },
        });
      });
    },
    async stop() {
      stopped = true;
      abort.abort();
      try {
        ws?.close(1000, "stop");
      } catch {}
      await loop;
    },
    get sessionId() {
      return sessionId;
    },
    get seq() {
      return seq;
    },
    get connections() {
      return connections;
    },
    get resumes() {
      return resumes;
    },
  };
}
