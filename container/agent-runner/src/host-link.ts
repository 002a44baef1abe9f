/**
 * Requests from the agent's MCP tools to the host, over stdio: each request is validated
 * against the protocol, written as a `request` frame with a fresh `reqId` (and the ids of the
 * turn it was made in), and answered by the host's `reply` frame with the same id. The host
 * validates and authorizes every request again; this side only avoids sending garbage.
 */
import { randomBytes } from "node:crypto";
import * as v from "valibot";
import { IpcRequest, type ReplyFrame } from "../../../src/protocol/index.ts";
import type { FrameWriter, RunnerLog } from "./io.ts";

/** The host's answer: a confirmation, the data asked for, or the reason for a refusal. */
export interface HostReply {
  ok: boolean;
  text: string;
}

/** The request could not be sent (invalid, or the host is gone). */
export class RequestError extends Error {
  override name = "RequestError";
}

export interface HostLinkOptions {
  write: FrameWriter;
  log: RunnerLog;
  /** How long to wait for a reply (default 60 s). */
  timeoutMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface HostLink {
  /** Sends `request` (validated first) and resolves with the host's reply. */
  request(request: unknown, turn?: readonly string[]): Promise<HostReply>;
  /** A reply frame from stdin; false when no request is waiting for it. */
  reply(frame: ReplyFrame): boolean;
  /** The host is gone: rejects what is pending and every later request. */
  close(reason: string): void;
  readonly pending: number;
}

interface Pending {
  resolve(reply: HostReply): void;
  reject(err: Error): void;
  timer: unknown;
  type: string;
}

export function createHostLink(options: HostLinkOptions): HostLink {
  const { write, log } = options;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  const pending = new Map<string, Pending>();
  const prefix = randomBytes(4).toString("hex");
  let seq = 0;
  let closed: string | undefined;

  return {
    request(request, turn) {
      if (closed) return Promise.reject(new RequestError(`the host is gone (${closed})`));
      const parsed = v.safeParse(IpcRequest, request);
      if (!parsed.success) {
        const issue = parsed.issues[0];
        const where = issue ? v.getDotPath(issue) : undefined;
        return Promise.reject(
          new RequestError(
            `invalid request${where ? ` (${where})` : ""}: ${issue?.message ?? "unknown problem"}`,
          ),
        );
      }
      const reqId = `${prefix}-${++seq}`;
      return new Promise<HostReply>((resolve, reject) => {
        const timer = setTimer(() => {
          if (!pending.delete(reqId)) return;
          log.warn("no reply from the host", { reqId, type: parsed.output.type, timeoutMs });
          resolve({
            ok: false,
            text: `The host did not answer within ${Math.round(timeoutMs / 1000)} s; the request may or may not have been carried out.`,
          });
        }, timeoutMs);
        pending.set(reqId, { resolve, reject, timer, type: parsed.output.type });
        try {
          write({
            type: "request",
            reqId,
            ...(turn && turn.length > 0 ? { turn: [...turn] } : {}),
            request: parsed.output,
          });
        } catch (err) {
          pending.delete(reqId);
          clearTimer(timer);
          reject(new RequestError(`writing the request failed: ${(err as Error).message}`));
        }
      });
    },
    reply(frame) {
      const p = pending.get(frame.reqId);
      if (!p) {
        log.warn("reply for no waiting request ignored", { reqId: frame.reqId });
        return false;
      }
      pending.delete(frame.reqId);
      clearTimer(p.timer);
      p.resolve({ ok: frame.ok, text: frame.text });
      return true;
    },
    close(reason) {
      closed ??= reason;
      for (const [reqId, p] of pending) {
        clearTimer(p.timer);
        p.reject(new RequestError(`the host is gone (${reason}) before answering ${p.type} ${reqId}`));
      }
      pending.clear();
    },
    get pending() {
      return pending.size;
    },
  };
}
