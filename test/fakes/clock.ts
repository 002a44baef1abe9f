/**
 * A fake clock + timers for the scheduler and anything else taking `{ clock, timers }`:
 * time moves only when a test calls `advance()` / `set()`, and due timers fire in order.
 */
import type { Clock, Timers } from "../../src/scheduler/index.ts";

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** Let pending promise callbacks (and what they schedule) run. */
export const flush = () => new Promise<void>((r) => setImmediate(r));

export function createFakeClock(start: number | string | Date = "2026-01-05T08:00:00Z") {
  let now = new Date(start).getTime();
  let seq = 0;
  const pending: FakeTimer[] = [];

  const clock: Clock = { now: () => now };
  const timers: Timers = {
    setTimeout(fn, ms) {
      const t = { id: ++seq, at: now + Math.max(0, ms), fn };
      pending.push(t);
      return t.id;
    },
    clearTimeout(handle) {
      const i = pending.findIndex((t) => t.id === handle);
      if (i >= 0) pending.splice(i, 1);
    },
  };

  /** Move time forward by `ms`, firing due timers in order (and settling promises between). */
  async function advance(ms: number): Promise<void> {
    const target = now + ms;
    await flush();
    for (;;) {
      pending.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = pending[0];
      if (!next || next.at > target) break;
      pending.shift();
      now = Math.max(now, next.at);
      next.fn();
      await flush();
    }
    now = target;
    await flush();
  }

  return {
    clock,
    timers,
    advance,
    /** Jump to an absolute time (firing timers on the way). */
    advanceTo: (t: number | string | Date) => advance(new Date(t).getTime() - now),
    /** Set the time without firing timers (a host that was down). */
    set(t: number | string | Date) {
      now = new Date(t).getTime();
    },
    now: () => now,
    pendingTimers: () => pending.map((t) => t.at),
  };
}
export type FakeClock = ReturnType<typeof createFakeClock>;
