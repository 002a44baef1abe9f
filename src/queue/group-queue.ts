/**
 * The group queue: at most one job per group, at most `maxConcurrent` jobs overall. Groups that
 * wait for a slot are served first in, first out; inside a group, pending task runs go before the
 * pending message run. A failed job is retried with exponential backoff (plus jitter) up to
 * `maxRetries`, then handed to its `onGiveUp` so the error reaches the chat instead of vanishing.
 *
 * Timers and randomness are injected so tests drive time by hand.
 */
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import { errorMessage } from "../util/errors.ts";

export interface QueueJob {
  /** Task runs go before message runs of the same group. */
  kind: "messages" | "task";
  /** Stable id: a second enqueue of the same (group, kind, id) while it is pending is a no-op. */
  id: string;
  run(): Promise<void>;
  /** Called once when the last retry failed (or the queue was told not to retry). */
  onGiveUp?(err: unknown, attempts: number): void | Promise<void>;
}

export interface QueueTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface GroupQueueOptions {
  maxConcurrent: number;
  maxRetries: number;
  retryBaseMs: number;
  /** Upper bound for one backoff delay (default 10 minutes). */
  retryMaxMs?: number;
  timers?: QueueTimers;
  /** [0, 1); the jitter source (default Math.random). */
  random?: () => number;
  log?: Logger;
  events?: EventBus;
}

export interface QueueStats {
  active: number;
  waiting: number;
  retrying: number;
  groups: { group: string; active: string | null; pending: number; idle: boolean }[];
}

/** Thrown by a job to say "do not retry this" (e.g. the group was removed). */
export class NoRetryError extends Error {
  override name = "NoRetryError";
}

/**
 * Thrown by a job that could not run for a reason outside the job (the container engine is
 * unreachable): it waits and runs again, without using up its retries, until `wake()` or
 * `delayMs` passes. Work is never given up for such a reason.
 */
export class RetryLaterError extends Error {
  override name = "RetryLaterError";
  constructor(
    message: string,
    readonly delayMs = 15_000,
  ) {
    super(message);
  }
}

interface Entry {
  job: QueueJob;
  attempts: number;
}

interface GroupState {
  active: Entry | null;
  tasks: Entry[];
  messages: Entry | null;
  /** Jobs sleeping out a backoff, by job key. */
  retrying: Map<string, unknown>;
  /** Of those, the ones waiting out a RetryLaterError (woken early by `wake`). */
  waitingOut: Map<string, Entry>;
  /** The active job said it is idle (a warm agent waiting for input); closing it frees the slot. */
  idleClose: (() => void) | null;
  waiting: boolean;
}

export interface GroupQueue {
  /** Queue a job; false when an identical job is already pending (coalesced). */
  enqueue(group: string, job: QueueJob): boolean;
  /** The group's active job is idle; `close` ends it (called when another job needs the slot). */
  markIdle(group: string, close: () => void): void;
  markBusy(group: string): void;
  isActive(group: string): boolean;
  stats(): QueueStats;
  /** Run every job that waits out a RetryLaterError now (the reason went away). */
  wake(): void;
  /** Stop starting jobs and retries; resolves when the active jobs have finished. */
  stop(): Promise<void>;
}

const realTimers: QueueTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

const keyOf = (job: QueueJob) => `${job.kind}:${job.id}`;

export function createGroupQueue(options: GroupQueueOptions): GroupQueue {
  const timers = options.timers ?? realTimers;
  const random = options.random ?? Math.random;
  const retryMaxMs = options.retryMaxMs ?? 10 * 60_000;
  const log = options.log;
  const groups = new Map<string, GroupState>();
  const waiting: string[] = [];
  const running = new Set<Promise<void>>();
  let active = 0;
  let stopped = false;

  const state = (group: string): GroupState => {
    let s = groups.get(group);
    if (!s) {
      s = {
        active: null,
        tasks: [],
        messages: null,
        retrying: new Map(),
        waitingOut: new Map(),
        idleClose: null,
        waiting: false,
      };
      groups.set(group, s);
    }
    return s;
  };

  const hasPending = (s: GroupState) => s.tasks.length > 0 || s.messages !== null;

  const changed = () => options.events?.emit("queue.changed", { active, waiting: waiting.length });

  const forget = (group: string, s: GroupState) => {
    if (!s.active && !hasPending(s) && s.retrying.size === 0 && !s.waiting) groups.delete(group);
  };

  /** Someone needs a slot: close one idle warm job (oldest waiting first benefits). */
  function preemptIdle(): void {
    for (const s of groups.values()) {
      if (s.active && s.idleClose) {
        const close = s.idleClose;
        s.idleClose = null;
        close();
        return;
      }
    }
  }

  function makeWaiting(group: string, s: GroupState): void {
    if (s.waiting || s.active || !hasPending(s)) return;
    s.waiting = true;
    waiting.push(group);
  }

  function pump(): void {
    if (stopped) return;
    while (active < options.maxConcurrent && waiting.length > 0) {
      const group = waiting.shift()!;
      const s = groups.get(group);
      if (!s) continue;
      s.waiting = false;
      if (s.active || !hasPending(s)) continue;
      const entry = s.tasks.shift() ?? s.messages!;
      if (entry === s.messages) s.messages = null;
      start(group, s, entry);
    }
    if (waiting.length > 0 && active >= options.maxConcurrent) preemptIdle();
    changed();
  }

  function start(group: string, s: GroupState, entry: Entry): void {
    s.active = entry;
    s.idleClose = null;
    active++;
    entry.attempts++;
    const p = (async () => {
      try {
        await entry.job.run();
      } catch (err) {
        await failed(group, entry, err);
      } finally {
        s.active = null;
        s.idleClose = null;
        active--;
        makeWaiting(group, s);
        forget(group, s);
        pump();
      }
    })();
    running.add(p);
    p.finally(() => running.delete(p));
  }

  async function failed(group: string, entry: Entry, err: unknown): Promise<void> {
    // Shutting down: the job was cut short on purpose; a restart re-runs it from the cursor.
    if (stopped) return void log?.debug("job ended by shutdown", { group, job: keyOf(entry.job) });
    if (err instanceof RetryLaterError) {
      // Not the job's fault: it does not count as an attempt.
      entry.attempts--;
      const s = state(group);
      const key = keyOf(entry.job);
      const handle = timers.setTimeout(() => {
        s.retrying.delete(key);
        s.waitingOut.delete(key);
        if (stopped) return;
        requeue(group, entry);
      }, err.delayMs);
      s.retrying.set(key, handle);
      s.waitingOut.set(key, entry);
      return;
    }
    if (!(err instanceof NoRetryError) && entry.attempts <= options.maxRetries) {
      const exp = options.retryBaseMs * 2 ** (entry.attempts - 1);
      const delay = Math.round(Math.min(retryMaxMs, exp) * (0.8 + 0.4 * random()));
      log?.warn("job failed, retrying", {
        group,
        job: keyOf(entry.job),
        attempt: entry.attempts,
        retryInMs: delay,
        error: errorMessage(err),
      });
      const s = state(group);
      const key = keyOf(entry.job);
      const handle = timers.setTimeout(() => {
        s.retrying.delete(key);
        if (stopped) return;
        requeue(group, entry);
      }, delay);
      s.retrying.set(key, handle);
      return;
    }
    log?.error("job failed, giving up", {
      group,
      job: keyOf(entry.job),
      attempts: entry.attempts,
      error: errorMessage(err),
    });
    try {
      await entry.job.onGiveUp?.(err, entry.attempts);
    } catch (e) {
      log?.error("reporting a failed job failed", { group, error: errorMessage(e) });
    }
  }

  function requeue(group: string, entry: Entry): void {
    const s = state(group);
    if (entry.job.kind === "task") {
      if (!s.tasks.some((e) => keyOf(e.job) === keyOf(entry.job))) s.tasks.unshift(entry);
    } else if (s.messages) {
      // A fresh message run was queued meanwhile: keep the retry count of the failing one.
      s.messages.attempts = Math.max(s.messages.attempts, entry.attempts);
    } else s.messages = entry;
    makeWaiting(group, s);
    pump();
  }

  return {
    enqueue(group, job) {
      if (stopped) return false;
      const s = state(group);
      const key = keyOf(job);
      if (s.retrying.has(key)) return false;
      if (job.kind === "task") {
        if (s.tasks.some((e) => keyOf(e.job) === key)) return false;
        s.tasks.push({ job, attempts: 0 });
        // A task waits for the group's warm agent: ask it to finish.
        if (s.active && s.idleClose) {
          const close = s.idleClose;
          s.idleClose = null;
          close();
        }
      } else {
        if (s.messages) return false;
        s.messages = { job, attempts: 0 };
      }
      makeWaiting(group, s);
      pump();
      return true;
    },
    markIdle(group, close) {
      const s = groups.get(group);
      if (!s?.active) return;
      if (s.tasks.length > 0 || (waiting.length > 0 && active >= options.maxConcurrent)) {
        s.idleClose = null;
        close();
        return;
      }
      s.idleClose = close;
    },
    markBusy(group) {
      const s = groups.get(group);
      if (s) s.idleClose = null;
    },
    wake() {
      for (const [group, s] of groups) {
        for (const [key, entry] of [...s.waitingOut]) {
          timers.clearTimeout(s.retrying.get(key));
          s.retrying.delete(key);
          s.waitingOut.delete(key);
          if (!stopped) requeue(group, entry);
        }
      }
    },
    isActive(group) {
      return groups.get(group)?.active != null;
    },
    stats() {
      let retrying = 0;
      const list: QueueStats["groups"] = [];
      for (const [group, s] of groups) {
        retrying += s.retrying.size;
        list.push({
          group,
          active: s.active ? keyOf(s.active.job) : null,
          pending: s.tasks.length + (s.messages ? 1 : 0),
          idle: s.idleClose !== null,
        });
      }
      return { active, waiting: waiting.length, retrying, groups: list };
    },
    async stop() {
      stopped = true;
      for (const s of groups.values()) {
        for (const h of s.retrying.values()) timers.clearTimeout(h);
        s.retrying.clear();
        s.waitingOut.clear();
        s.tasks = [];
        s.messages = null;
      }
      waiting.length = 0;
      await Promise.allSettled([...running]);
      changed();
    },
  };
}
