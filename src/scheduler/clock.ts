/**
 * Time as a dependency: the scheduler reads `clock.now()` and sleeps with `timers`, so tests swap
 * both. `monotonic()` never jumps (not with NTP steps, not when someone sets the clock): compared
 * with `now()` it reveals a wall-clock jump, and durations (uptime) are measured with it.
 */

export interface Clock {
  /** Wall-clock time, epoch ms. */
  now(): number;
  /** A monotonic clock in ms (arbitrary origin); without it, clock jumps are not detected. */
  monotonic?(): number;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };

export const systemTimers: Timers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    // The scheduler's one timer must never be what keeps the process alive.
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
