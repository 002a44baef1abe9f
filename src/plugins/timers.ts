/**
 * Timers owned by one plugin: external plugins' `setTimeout`/`setInterval`/`queueMicrotask` are bound to these
 * (the loader shadows the globals in the bundled module), so a callback that throws is counted
 * as a plugin failure instead of crashing the process, the timers never keep the process alive,
 * and everything still pending is cleared when the plugin is torn down, disabled or reloaded.
 */

type Callback = (...args: unknown[]) => unknown;

export interface TimerScope {
  setTimeout(fn: Callback, ms?: number, ...args: unknown[]): ReturnType<typeof setTimeout>;
  setInterval(fn: Callback, ms?: number, ...args: unknown[]): ReturnType<typeof setInterval>;
  clearTimeout(id: unknown): void;
  clearInterval(id: unknown): void;
  queueMicrotask(fn: Callback): void;
  /** Pending timers right now. */
  readonly size: number;
  /** Clear every pending timer; later calls create nothing. */
  close(): void;
}

export function createTimerScope(onError: (err: unknown) => void): TimerScope {
  const live = new Set<ReturnType<typeof setTimeout>>();
  let closed = false;
  const guard = (fn: Callback, args: unknown[]) => {
    try {
      const out = fn(...args);
      if (out && typeof (out as Promise<unknown>).then === "function")
        (out as Promise<unknown>).then(undefined, onError);
    } catch (err) {
      onError(err);
    }
  };
  const clear = (id: unknown) => {
    const t = id as ReturnType<typeof setTimeout>;
    if (live.delete(t)) clearTimeout(t);
  };
  return {
    setTimeout(fn, ms = 0, ...args) {
      if (typeof fn !== "function") throw new TypeError("setTimeout needs a function");
      const t = setTimeout(() => {
        live.delete(t);
        if (!closed) guard(fn, args);
      }, ms);
      t.unref?.();
      if (closed) clearTimeout(t);
      else live.add(t);
      return t;
    },
    setInterval(fn, ms = 0, ...args) {
      if (typeof fn !== "function") throw new TypeError("setInterval needs a function");
      const t = setInterval(() => {
        if (!closed) guard(fn, args);
      }, ms);
      t.unref?.();
      if (closed) clearInterval(t);
      else live.add(t);
      return t;
    },
    clearTimeout: clear,
    clearInterval: clear,
    queueMicrotask(fn) {
      if (typeof fn !== "function") throw new TypeError("queueMicrotask needs a function");
      queueMicrotask(() => {
        if (!closed) guard(fn, []);
      });
    },
    get size() {
      return live.size;
    },
    close() {
      closed = true;
      for (const t of live) clearTimeout(t);
      live.clear();
    },
  };
}
