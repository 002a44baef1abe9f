/**
 * A busy database never freezes the web server. Serve opens the store with a short busy timeout
 * (src/runtime), so a write that meets another process's lock fails within it instead of
 * blocking the event loop for seconds; the request gets 503 with Retry-After. For a moment
 * afterwards (`cooldownMs`) other writing requests are answered 503 at once without touching the
 * store, so a burst of writes can't add its busy waits up. Reads pass: in WAL mode they don't
 * wait for a writer. Health, readiness and the dashboard's static files never touch the store.
 */
import type { MiddlewareHandler } from "hono";
import { isStoreBusy } from "../store/index.ts";

export interface BusyGate {
  /** Refuses writing requests while the store was just found busy. */
  middleware: MiddlewareHandler;
  /** An error from a handler: true when it was the store being busy (then the gate closes for a while). */
  sawError(err: unknown): boolean;
  /** Seconds a client should wait (Retry-After). */
  retryAfterSec(): number;
}

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

export function createBusyGate(options: { now?: () => number; cooldownMs?: number } = {}): BusyGate {
  const now = options.now ?? (() => performance.now());
  const cooldownMs = options.cooldownMs ?? 1_000;
  let busyUntil = 0;
  const retryAfterSec = () => Math.max(1, Math.ceil((busyUntil - now()) / 1000));
  return {
    middleware: async (c, next) => {
      if (!READS.has(c.req.method) && now() < busyUntil) {
        c.header("Retry-After", String(retryAfterSec()));
        return c.json({ error: "store_busy", message: "the database is busy; retry shortly" }, 503);
      }
      await next();
    },
    sawError(err) {
      if (!isStoreBusy(err)) return false;
      busyUntil = now() + cooldownMs;
      return true;
    },
    retryAfterSec,
  };
}
