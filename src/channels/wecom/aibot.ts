/**
 * The WeCom AI-bot long connection (智能机器人长连接, doc 101463; the official
 * @wecom/aibot-node-sdk is the reference): JSON text frames `{cmd?, headers:{req_id}, body?,
 * errcode?, errmsg?}`.
 * - connect → `aibot_subscribe {bot_id, secret}` → ack `{headers:{req_id}, errcode:0}`;
 * - `ping` every 30 s after auth; two missed acks = dead socket, reconnect;
 * - callbacks `aibot_msg_callback` / `aibot_event_callback` (no ack: the reply is the ack);
 * - our requests (`aibot_respond_msg`, `aibot_send_msg`) are acked by req_id; frames for one
 *   req_id are sent one at a time, each after its ack (the SDK's reply queue);
 * - `disconnected_event`: a newer connection for the bot took over; staying off is the only way
 *   not to be kicked in a loop, so the client stops and says so.
 * Reconnects back off (1 s doubling to 30 s); auth failures back off too and stop after five.
 */
import type { Logger } from "../../log/index.ts";
import { errorMessage } from "../../util/errors.ts";
import { type BackoffOptions, createBackoff } from "../kit/backoff.ts";
import type { Clock } from "../kit/clock.ts";
import { ChannelError } from "../kit/errors.ts";

export interface AibotFrame {
  cmd?: string;
  headers?: { req_id?: string };
  body?: unknown;
  errcode?: number;
  errmsg?: string;
}

export interface AibotClientOptions {
  url: string;
  botId: string;
  secret: string;
  log: Logger;
  clock: Clock;
  heartbeatMs?: number;
  ackTimeoutMs?: number;
  /** Largest frame accepted from the server, in bytes. Default 1 MiB. */
  maxFrameBytes?: number;
  maxAuthFailures?: number;
  /** After a disconnected_event, wait this long before one more try. Default 10 s. */
  kickedRetryMs?: number;
  backoff?: BackoffOptions;
  /** A callback frame (aibot_msg_callback / aibot_event_callback). Errors are contained. */
  onCallback(frame: AibotFrame): Promise<void> | void;
  onStatus(state: "connecting" | "connected" | "disconnected" | "error", error?: string): void;
  onRejected(reason: string): void;
  WebSocket?: typeof WebSocket;
}

export interface AibotClient {
  /** Resolves at the first successful subscribe; rejects on an auth refusal; keeps retrying network failures. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Send `{cmd, headers:{req_id}, body}` and wait for its ack; serial per req_id. */
  request(cmd: string, reqId: string, body: unknown): Promise<AibotFrame>;
  readonly connected: boolean;
  /** Connections opened so far (tests, bench). */
  readonly connections: number;
}

export function newReqId(prefix: string): string {
  const rand = Buffer.from(crypto.getRandomValues(new Uint8Array(4))).toString("hex");
  return `${prefix}_${Date.now()}_${rand}`;
}

interface Pending {
  resolve(f: AibotFrame): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export function createAibotClient(o: AibotClientOptions): AibotClient {
  const log = o.log;
  const heartbeatMs = o.heartbeatMs ?? 30_000;
  const ackTimeoutMs = o.ackTimeoutMs ?? 5_000;
  const maxFrame = o.maxFrameBytes ?? 1024 * 1024;
  const maxAuthFailures = o.maxAuthFailures ?? 5;
  const WS = o.WebSocket ?? WebSocket;
  const backoff = createBackoff({ initialMs: 1_000, maxMs: 30_000, ...o.backoff });
  const pending = new Map<string, Pending>();
  const chains = new Map<string, Promise<unknown>>();
  let ws: WebSocket | undefined;
  let authed = false;
  let stopped = false;
  let connections = 0;
  let authFailures = 0;
  let everAuthed = false;
  let lastKick: number | undefined;
  const kickedRetryMs = o.kickedRetryMs ?? 10_000;
  let abort = new AbortController();
  let loop: Promise<void> | undefined;

  function failPending(why: string) {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new ChannelError("wecom", "network", `wecom: ${why} before the ack of ${id.split("_")[0]}`));
    }
    pending.clear();
  }

  function raw(frame: AibotFrame) {
    if (!ws || ws.readyState !== WS.OPEN) throw new ChannelError("wecom", "network", "wecom: not connected");
    ws.send(JSON.stringify(frame));
  }

  /** One connection's life: resolves when it closes; `first` settles on the first auth outcome. */
  function runOnce(first: { ok(): void; fail(e: Error): void }): Promise<"closed" | "auth" | "kicked"> {
    return new Promise((resolve) => {
      connections++;
      const sock = new WS(o.url);
      ws = sock;
      const subId = newReqId("aibot_subscribe");
      let missed = 0;
      let beat: ReturnType<typeof setInterval> | undefined;
      let outcome: "closed" | "auth" | "kicked" = "closed";
      const finish = () => {
        if (beat) clearInterval(beat);
        authed = false;
        failPending("the connection closed");
        resolve(outcome);
      };
      sock.onopen = () => {
        sock.send(
          JSON.stringify({
            cmd: "aibot_subscribe",
            headers: { req_id: subId },
            body: { bot_id: o.botId, secret: o.secret },
          }),
        );
      };
      sock.onmessage = (ev) => {
        const data =
          typeof ev.data === "string" ? ev.data : Buffer.from(ev.data as ArrayBuffer).toString("utf8");
        if (data.length > maxFrame) {
          o.onRejected("oversized_frame");
          log.warn("wecom frame refused: too large", { bytes: data.length });
          return;
        }
        let frame: AibotFrame;
        try {
          frame = JSON.parse(data) as AibotFrame;
          if (!frame || typeof frame !== "object" || Array.isArray(frame)) throw new Error("not an object");
        } catch {
          o.onRejected("bad_frame");
          log.warn("wecom frame refused: not a JSON object");
          return;
        }
        const reqId = typeof frame.headers?.req_id === "string" ? frame.headers.req_id : "";
        if (frame.cmd === "aibot_msg_callback" || frame.cmd === "aibot_event_callback") {
          const ev = (frame.body as { event?: { eventtype?: unknown } } | undefined)?.event;
          if (frame.cmd === "aibot_event_callback" && ev?.eventtype === "disconnected_event") {
            outcome = "kicked";
            sock.close(1000, "replaced");
            return;
          }
          void Promise.resolve()
            .then(() => o.onCallback(frame))
            .catch((err) => log.error("wecom callback failed", { error: errorMessage(err) }));
          return;
        }
        if (frame.cmd) {
          o.onRejected("unknown_cmd");
          log.warn("wecom frame with an unknown cmd ignored", { cmd: String(frame.cmd).slice(0, 40) });
          return;
        }
        if (reqId === subId) {
          if (frame.errcode !== 0) {
            outcome = "auth";
            const msg = `wecom refused the bot id / secret: ${String(frame.errmsg ?? "").slice(0, 200)} (errcode ${frame.errcode})`;
            first.fail(new ChannelError("wecom", "auth", msg, { secrets: [o.secret] }));
            o.onStatus("error", msg);
            sock.close(1000, "auth failed");
            return;
          }
          authed = true;
          everAuthed = true;
          authFailures = 0;
          backoff.reset();
          o.onStatus("connected");
          first.ok();
          beat = setInterval(() => {
            if (missed >= 2) {
              log.warn("wecom heartbeat unanswered twice; reconnecting");
              sock.close(4000, "heartbeat timeout");
              return;
            }
            missed++;
            try {
              sock.send(JSON.stringify({ cmd: "ping", headers: { req_id: newReqId("ping") } }));
            } catch {}
          }, heartbeatMs);
          return;
        }
        if (reqId.startsWith("ping_")) {
          missed = 0;
          return;
        }
        const p = pending.get(reqId);
        if (!p) {
          o.onRejected("unknown_ack");
          log.debug("wecom ack for an unknown req_id ignored");
          return;
        }
        pending.delete(reqId);
        clearTimeout(p.timer);
        p.resolve(frame);
      };
      sock.onerror = () => {};
      sock.onclose = finish;
    });
  }

  async function runLoop(first: { ok(): void; fail(e: Error): void }) {
    while (!stopped) {
      o.onStatus("connecting");
      let outcome: Awaited<ReturnType<typeof runOnce>>;
      try {
        outcome = await runOnce(first);
      } catch (err) {
        outcome = "closed";
        log.warn("wecom connect failed", { error: errorMessage(err) });
      }
      if (stopped) return;
      if (outcome === "kicked") {
        // Another connection for this bot took over. A one-off (`ngb doctor`, a restart) passes;
        // a second takeover soon after means another instance runs: stop, or we kick each other.
        const t = o.clock.now();
        const again = lastKick !== undefined && t - lastKick < 10 * 60_000;
        lastKick = t;
        const msg = again
          ? "wecom: another connection keeps taking over this bot (disconnected_event); stopped — run one ngb per bot"
          : `wecom: another connection for this bot took over (disconnected_event); reconnecting in ${Math.round(kickedRetryMs / 1000)} s`;
        o.onStatus("error", msg);
        if (again) {
          log.error(msg);
          first.fail(new ChannelError("wecom", "config", msg));
          return;
        }
        log.warn(msg);
        await o.clock.sleep(kickedRetryMs, abort.signal);
        continue;
      }
      // Refused before ever being accepted: the credentials are wrong, retrying cannot help.
      if (outcome === "auth" && !everAuthed) return;
      if (outcome === "auth" && ++authFailures >= maxAuthFailures) {
        log.error("wecom auth failed repeatedly; giving up", { attempts: authFailures });
        return;
      }
      const delay = backoff.next();
      if (outcome === "closed") {
        o.onStatus("disconnected");
        first.ok(); // the first attempt failed on the network: start() returns, the loop retries
      }
      log.warn("wecom connection closed; reconnecting", { inMs: delay, attempt: backoff.attempts });
      await o.clock.sleep(delay, abort.signal);
    }
  }

  return {
    start() {
      stopped = false;
      abort = new AbortController();
      return new Promise<void>((resolve, reject) => {
        let settled = false;
        const first = {
          ok() {
            if (settled) return;
            settled = true;
            resolve();
          },
          fail(e: Error) {
            if (settled) return;
            settled = true;
            reject(e);
          },
        };
        loop = runLoop(first);
      });
    },
    async stop() {
      stopped = true;
      abort.abort();
      try {
        ws?.close(1000, "stop");
      } catch {}
      failPending("the channel stopped");
      await loop;
    },
    request(cmd, reqId, body) {
      const prev = chains.get(reqId) ?? Promise.resolve();
      const next = prev
        .catch(() => {})
        .then(
          () =>
            new Promise<AibotFrame>((resolve, reject) => {
              if (!authed) return reject(new ChannelError("wecom", "network", "wecom: not connected"));
              const timer = setTimeout(() => {
                pending.delete(reqId);
                reject(
                  new ChannelError("wecom", "network", `wecom: no ack for ${cmd} within ${ackTimeoutMs} ms`),
                );
              }, ackTimeoutMs);
              pending.set(reqId, { resolve, reject, timer });
              try {
                raw({ cmd, headers: { req_id: reqId }, body });
              } catch (err) {
                clearTimeout(timer);
                pending.delete(reqId);
                reject(err as Error);
              }
            }),
        );
      chains.set(reqId, next);
      const clear = () => {
        if (chains.get(reqId) === next) chains.delete(reqId);
      };
      next.then(clear, clear);
      return next;
    },
    get connected() {
      return authed;
    },
    get connections() {
      return connections;
    },
  };
}
