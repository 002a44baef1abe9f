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
  /** Monotonic time: moves with advance() and set(), not with jump(). */
  let mono = 0;
  let seq = 0;
  const pending: FakeTimer[] = [];

  const clock: Clock = { now: () => now, monotonic: () => mono };
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
      mono += Math.max(0, next.at - now);
      now = Math.max(now, next.at);
      next.fn();
      await flush();
    }
    mono += Math.max(0, target - now);
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
      const next = new Date(t).getTime();
      mono += Math.max(0, next - now);
      now = next;
    },
    /**
     * Step the wall clock by `ms` (negative: back) while monotonic time stands still, as when
     * someone sets the system clock or NTP steps it. Timers are due by monotonic time: unchanged.
     */
    jump(ms: number) {
      now += ms;
      for (const t of pending) t.at += ms;
    },
    monotonic: () => mono,
    now: () => now,
    pendingTimers: () => pending.map((t) => t.at),
  };
}
export type FakeClock = ReturnType<typeof createFakeClock>;
