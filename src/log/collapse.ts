/**
 * Repeated warnings and errors, collapsed: the first line of a kind is written at once; repeats
 * within the window (default 60 s) are only counted, and when the window closes one summary line
 * says "… (repeated N times in 60 s)". A kind is the level, the tag (the source), the message
 * and the `error` detail, so different failures are never merged; other details (ids, counts)
 * may differ and the summary carries the last one. Nothing is dropped silently: every window
 * with repeats ends in a summary, at the latest when the logger is flushed (shutdown, exit).
 * Info and debug lines pass through untouched.
 */
import type { ConsolaReporter, LogObject } from "consola/core";

export interface CollapseOptions {
  /** How long repeats are counted before the summary. Default 60 s; 0 turns collapsing off. */
  windowMs?: number;
  now?: () => number;
  timers?: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  /** Kinds tracked at once; beyond it lines pass through (never dropped). Default 1,000. */
  maxKinds?: number;
}

export interface CollapsingReporter extends ConsolaReporter {
  /** Write the summaries of every open window now. */
  flush(): void;
}

interface Window {
  openedAt: number;
  repeats: number;
  last: LogObject;
  timer: unknown;
}

/** Warn (1) and worse (error/fatal 0) collapse; consola levels count up from 0. */
const COLLAPSED_LEVEL = 1;

const defaultTimers = {
  setTimeout(fn: () => void, ms: number): unknown {
    const t = setTimeout(fn, ms);
    // A pending summary must not keep the process alive; flush() writes it at exit.
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

function kindOf(obj: LogObject): string {
  const [first, ...rest] = obj.args;
  const msg = typeof first === "string" ? first : "";
  let error = "";
  for (const a of rest)
    if (a && typeof a === "object" && typeof (a as { error?: unknown }).error === "string")
      error = (a as { error: string }).error;
    else if (a instanceof Error) error = a.message;
  return `${obj.type}\u0000${obj.tag}\u0000${msg}\u0000${error}`;
}

export function collapseRepeats(
  reporters: ConsolaReporter[],
  options: CollapseOptions = {},
): CollapsingReporter {
  const windowMs = options.windowMs ?? 60_000;
  const now = options.now ?? Date.now;
  const timers = options.timers ?? defaultTimers;
  const maxKinds = options.maxKinds ?? 1_000;
  const open = new Map<string, Window>();
  let ctx: Parameters<ConsolaReporter["log"]>[1] = { options: {} as never };

  const write = (obj: LogObject) => {
    for (const r of reporters) r.log(obj, ctx);
  };

  const close = (kind: string) => {
    const w = open.get(kind);
    if (!w) return;
    open.delete(kind);
    timers.clearTimeout(w.timer);
    if (w.repeats === 0) return;
    const [first, ...rest] = w.last.args;
    const seconds = Math.max(1, Math.round((now() - w.openedAt) / 1000));
    const times = `repeated ${w.repeats.toLocaleString("en-US")} time${w.repeats === 1 ? "" : "s"} in ${seconds} s`;
    const args =
      typeof first === "string" ? [`${first} (${times})`, ...rest] : [`(${times})`, ...w.last.args];
    write({ ...w.last, date: new Date(now()), args });
  };

  return {
    log(obj, context) {
      ctx = context;
      if (windowMs <= 0 || obj.level > COLLAPSED_LEVEL) return write(obj);
      const kind = kindOf(obj);
      const w = open.get(kind);
      if (w) {
        w.repeats++;
        w.last = obj;
        return;
      }
      if (open.size < maxKinds)
        open.set(kind, {
          openedAt: now(),
          repeats: 0,
          last: obj,
          timer: timers.setTimeout(() => close(kind), windowMs),
        });
      write(obj);
    },
    flush() {
      for (const kind of [...open.keys()]) close(kind);
    },
  };
}
