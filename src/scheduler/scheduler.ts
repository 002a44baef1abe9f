/**
 * The scheduler: one timer set to the earliest next_run (capped at maxSleepMs, a safety net
 * against clock jumps and for changes made by another process such as `ngb tasks add`), and
 * exactly-once runs across crashes: a run is claimed, next_run advanced and a `running` log row
 * written in one transaction before dispatch; its outcome is recorded in one transaction after.
 * On start-up a claim left by a crashed host is logged as an error and the task's catch-up
 * policy applies; runs missed while down run once (`run-once`) or are logged `skipped` (`skip`).
 * Nothing is ever dropped without a run log row saying why.
 *
 * Wall-clock jumps are detected on every wake by comparing the wall clock with a monotonic one:
 * after a backward jump every task's next run is recomputed (cron: the next slot after the new
 * time; interval: the same time left as before the jump) so nothing goes silent for the jump's
 * length; a large forward jump is logged and the catch-up policies apply to what it skipped.
 */
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import type { RunStatus, ScheduledTask, Store } from "../store/index.ts";
import { errorMessage } from "../util/errors.ts";
import { type Clock, systemClock, systemTimers, type Timers } from "./clock.ts";
import { isWatchableStore, watchExternalCommits } from "./external.ts";
import { formatDuration, nextSlot, type Schedule, slotsBetween, storedSchedule } from "./schedule.ts";

/** What a run came to; `dispatch` resolves with it. */
export interface RunOutcome {
  status: "success" | "error" | "timed-out";
  result?: string | null;
  error?: string;
}

/**
 * Runs one due task (provided by the runtime: through the group queue into the group's
 * container, result delivered to the task's chat). May resolve much later when the group is
 * busy; the scheduler never dispatches the same task again while a run is in flight.
 */
export type Dispatch = (task: ScheduledTask, scheduledFor: number) => Promise<RunOutcome>;

export interface SchedulerOptions {
  store: Pick<Store, "tasks">;
  dispatch: Dispatch;
  log: Logger;
  events?: EventBus;
  clock?: Clock;
  timers?: Timers;
  /** Longest sleep; on each wake the store is re-read (picks up changes by other processes). */
  maxSleepMs?: number;
  /**
   * A run due longer ago than this (ngb was down, the host suspended, the clock jumped) counts
   * as missed: `skip` tasks log it skipped, `run-once` tasks run it once. Default 60 s.
   */
  lateGraceMs?: number;
  /**
   * Re-arm when another process commits to the database (fs.watch + PRAGMA data_version), so
   * `ngb tasks add` is picked up at once. Default true when `store` is a real Store.
   */
  watchStore?: boolean;
  /** A wall clock that moved this much more (or less) than the monotonic clock jumped. Default 2 s back, 60 s forward. */
  clockJumpMs?: { back?: number; forward?: number };
}

export interface Scheduler {
  /** Recover claims left by a crash, apply catch-up policies, arm the timer. */
  start(): void;
  /** Stop the timer. Runs in flight still record their outcome when they finish. */
  stop(): void;
  /** Tasks changed: re-arm the timer (also done on every `task.changed` event). */
  notify(): void;
  /** Ids of tasks with a run in flight. */
  running(): string[];
  /** Resolves when no run is in flight. */
  idle(): Promise<void>;
  /** When the timer fires next (null when stopped). */
  nextWakeAt(): number | null;
}

export const HOST_STOPPED = "host stopped during the run";
const MAX_BACKOFF_MS = 30_000;
const RESULTS: ReadonlySet<string> = new Set(["success", "error", "timed-out"]);

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store, dispatch, events } = options;
  const clock = options.clock ?? systemClock;
  const timers = options.timers ?? systemTimers;
  const log = options.log.withTag("scheduler");
  const maxSleepMs = options.maxSleepMs ?? 60_000;
  const lateGraceMs = options.lateGraceMs ?? 60_000;
  const jumpBackMs = options.clockJumpMs?.back ?? 2_000;
  const jumpForwardMs = options.clockJumpMs?.forward ?? 60_000;
  const monotonic = clock.monotonic?.bind(clock);
  /** Wall and monotonic time at the last look, to tell a clock jump from time passing. */
  let anchor: { wall: number; mono: number } | null = null;

  const inFlight = new Map<string, Promise<void>>();
  let started = false;
  let startedAt = 0;
  let timer: unknown = null;
  let wakeAt: number | null = null;
  let ticking = false;
  let failures = 0;
  let unsubscribe: (() => void) | null = null;
  let unwatch: (() => void) | null = null;

  const iso = (t: number) => new Date(t).toISOString();
  const emitRun = (
    task: ScheduledTask,
    status: RunStatus,
    extra: { durationMs?: number; error?: string } = {},
  ) => events?.emit("task.run", { taskId: task.id, groupFolder: task.groupFolder, status, ...extra });
  const emitChanged = (taskId: string, status: string) => events?.emit("task.changed", { taskId, status });

  function arm(delayOverride?: number): void {
    if (!started) return;
    if (timer !== null) timers.clearTimeout(timer);
    const now = clock.now();
    let delay = delayOverride;
    if (delay === undefined) {
      const next = store.tasks.nextDueAt();
      delay = next === null ? maxSleepMs : Math.min(Math.max(0, next - now), maxSleepMs);
    }
    wakeAt = now + delay;
    timer = timers.setTimeout(wake, delay);
  }

  function wake(): void {
    timer = null;
    if (!started) return;
    let delay: number | undefined;
    ticking = true;
    try {
      checkClock();
      tick();
      failures = 0;
    } catch (err) {
      // One error boundary for the loop: log, back off, continue.
      failures++;
      delay = Math.min(1_000 * 2 ** (failures - 1), MAX_BACKOFF_MS, maxSleepMs);
      log.error("scheduler tick failed", { error: errorMessage(err), retryInMs: delay });
    } finally {
      ticking = false;
    }
    try {
      arm(delay);
    } catch (err) {
      const retry = Math.min(MAX_BACKOFF_MS, maxSleepMs);
      log.error("could not re-arm the scheduler", { error: errorMessage(err), retryInMs: retry });
      if (started) timer = timers.setTimeout(wake, retry);
    }
  }

  /** Compare how far the wall clock moved with how far time really moved since the last look. */
  function checkClock(): void {
    if (!monotonic) return;
    const wall = clock.now();
    const mono = monotonic();
    const prev = anchor;
    anchor = { wall, mono };
    if (!prev) return;
    const drift = wall - prev.wall - (mono - prev.mono);
    if (drift < -jumpBackMs) {
      const moved = recomputeAfterJump(drift, wall);
      log.warn("wall clock moved back; next runs recomputed", {
        byMs: -drift,
        now: iso(wall),
        tasks: moved,
      });
    } else if (drift > jumpForwardMs) {
      log.warn("wall clock moved forward (clock set or host suspended); catch-up policies apply", {
        byMs: drift,
        now: iso(wall),
      });
    }
  }

  /**
   * After the wall clock moved back by -drift: cron tasks get the next slot after the new time;
   * interval tasks keep the time they had left (their next run moves back with the clock); once
   * tasks keep their wall time. Returns how many tasks changed.
   */
  function recomputeAfterJump(drift: number, now: number): number {
    const rows: { id: string; nextRun: number | null }[] = [];
    for (const task of store.tasks.list()) {
      if (task.status !== "active" || task.nextRun === null || inFlight.has(task.id)) continue;
      let next: number | null;
      try {
        const schedule = storedSchedule(task);
        if (schedule.type === "once") continue;
        next = schedule.type === "interval" ? Math.max(now, task.nextRun + drift) : nextSlot(schedule, now);
      } catch {
        continue; // an invalid schedule is paused loudly by the due pass
      }
      if (next !== null && next !== task.nextRun) rows.push({ id: task.id, nextRun: next });
    }
    if (rows.length > 0) store.tasks.setNextRuns(rows);
    return rows.length;
  }

  function tick(): void {
    const now = clock.now();
    let firstError: unknown = null;
    for (const task of store.tasks.due(now)) {
      if (inFlight.has(task.id)) continue;
      try {
        handleDue(task, now);
      } catch (err) {
        log.error("could not start task", { taskId: task.id, error: errorMessage(err) });
        firstError ??= err;
      }
    }
    if (firstError) throw firstError;
  }

  function missedText(schedule: Schedule, first: number, to: number): string {
    const { count, last, capped } = slotsBetween(schedule, first, to);
    if (count <= 1) return `1 run at ${iso(first)}`;
    return `${capped ? "more than " : ""}${count.toLocaleString("en-US")} runs between ${iso(first)} and ${iso(last)}`;
  }

  function skip(task: ScheduledTask, schedule: Schedule, due: number, now: number, why: string): void {
    const reason = `${why}: ${missedText(schedule, due, now)}`;
    const next = schedule.type === "once" ? null : nextSlot(schedule, now, due);
    // A schedule with no future slot (a once task, a cron for a year gone by) is done.
    store.tasks.skipRun(task.id, due, now, reason, next, next === null);
    log.warn("run skipped", { taskId: task.id, reason, nextRun: next === null ? null : iso(next) });
    emitRun(task, "skipped", { error: reason });
    if (next === null) emitChanged(task.id, "completed");
  }

  function handleDue(task: ScheduledTask, now: number): void {
    const due = task.nextRun!;
    let schedule: Schedule;
    try {
      schedule = storedSchedule(task);
    } catch (err) {
      // Validated at creation, so this means e.g. tz data changed. Stop it loudly, not silently.
      const error = `schedule no longer valid, task paused: ${errorMessage(err)}`;
      store.tasks.logRun(task.id, due, now, "error", null, error);
      store.tasks.update(task.id, { status: "paused", lastError: error });
      log.error("task paused", { taskId: task.id, error });
      emitRun(task, "error", { error });
      emitChanged(task.id, "paused");
      return;
    }
    const missedWhileDown = due < startedAt;
    const lateBy = now - due;
    // A run more than lateGraceMs late was missed (ngb down, suspended, or the clock jumped);
    // within the grace it simply runs (e.g. due while ngb was still starting).
    if (task.catchUp === "skip" && lateBy > lateGraceMs) {
      const why = missedWhileDown
        ? "missed while ngb was down"
        : `missed: ngb woke ${formatDuration(Math.round(lateBy / 1000) * 1000)} late (host suspended or clock changed)`;
      skip(task, schedule, due, now, why);
      return;
    }
    const next = schedule.type === "once" ? null : nextSlot(schedule, now, due);
    if (lateBy > lateGraceMs)
      log.info("catching up", {
        taskId: task.id,
        missed: missedText(schedule, due, now),
        nextRun: next === null ? null : iso(next),
      });
    const runId = store.tasks.claimRun(task.id, due, now, next);
    if (runId === null) return;
    emitRun(task, "running");
    inFlight.set(task.id, run(task, schedule, due, now, runId, next === null));
  }

  async function run(
    task: ScheduledTask,
    schedule: Schedule,
    due: number,
    startedAtRun: number,
    runId: number,
    last: boolean,
  ): Promise<void> {
    let outcome: RunOutcome;
    try {
      outcome = await dispatch(task, due);
      if (!outcome || !RESULTS.has(outcome.status))
        outcome = {
          status: "error",
          error: `dispatch returned an invalid outcome: ${JSON.stringify(outcome)}`,
        };
    } catch (err) {
      outcome = { status: "error", error: errorMessage(err) };
    }
    if (!started && outcome.status !== "success") {
      // Ended by the shutdown (containers are stopped after the scheduler): keep the claim, so
      // the next start records it as interrupted and applies the task's catch-up policy.
      inFlight.delete(task.id);
      log.info("run interrupted by shutdown; the next start applies its catch-up policy", {
        taskId: task.id,
      });
      return;
    }
    const finishedAt = clock.now();
    const error =
      outcome.status === "success"
        ? null
        : (outcome.error ?? (outcome.status === "timed-out" ? "the run timed out" : "the run failed"));
    try {
      store.tasks.completeRun(
        task.id,
        runId,
        { finishedAt, status: outcome.status, result: outcome.result ?? null, error },
        last,
      );
    } catch (err) {
      // The claim stays; the next start-up reports the run as interrupted.
      log.error("could not record run outcome", { taskId: task.id, error: errorMessage(err) });
      inFlight.delete(task.id);
      return;
    }
    inFlight.delete(task.id);
    const durationMs = finishedAt - startedAtRun;
    if (error === null) log.info("task ran", { taskId: task.id, durationMs });
    else log.warn("task run failed", { taskId: task.id, status: outcome.status, error, durationMs });
    emitRun(task, outcome.status, { durationMs, ...(error === null ? {} : { error }) });
    if (last) emitChanged(task.id, "completed");
    if (!started) return;
    try {
      // Slots that fell while this run was in flight: `skip` tasks log them now; `run-once`
      // tasks are simply due again and the next tick runs them once.
      const after = store.tasks.get(task.id);
      if (
        after &&
        after.status === "active" &&
        after.catchUp === "skip" &&
        after.nextRun !== null &&
        after.nextRun <= finishedAt
      )
        skip(
          after,
          schedule,
          after.nextRun,
          finishedAt,
          "missed while the previous run was still in progress",
        );
      if (!ticking) arm();
    } catch (err) {
      log.error("after-run bookkeeping failed", { taskId: task.id, error: errorMessage(err) });
    }
  }

  /** Claims found at start-up were left by a host that stopped mid-run. */
  function recover(now: number): void {
    for (const task of store.tasks.claimed()) {
      if (inFlight.has(task.id)) continue;
      store.tasks.abandonClaim(task.id, now, HOST_STOPPED);
      log.warn("run interrupted by a host stop", {
        taskId: task.id,
        scheduledFor: task.claimedFor === null ? null : iso(task.claimedFor),
        catchUp: task.catchUp,
      });
      emitRun(task, "error", { error: HOST_STOPPED });
      if (task.status !== "active" || task.claimedFor === null) continue;
      if (task.catchUp === "run-once") {
        // Due again at the interrupted time: the due pass below runs it once, then on schedule.
        store.tasks.update(task.id, { nextRun: task.claimedFor });
      } else if (task.scheduleType === "once") {
        store.tasks.update(task.id, { status: "completed", lastError: HOST_STOPPED });
        emitChanged(task.id, "completed");
      }
    }
  }

  return {
    start() {
      if (started) return;
      started = true;
      startedAt = clock.now();
      anchor = null;
      if (events) unsubscribe = events.on("task.changed", () => this.notify());
      if (options.watchStore !== false && isWatchableStore(store))
        unwatch = watchExternalCommits(store, () => this.notify(), { log });
      try {
        recover(startedAt);
      } catch (err) {
        log.error("claim recovery failed", { error: errorMessage(err) });
      }
      wake();
    },
    stop() {
      started = false;
      unsubscribe?.();
      unsubscribe = null;
      unwatch?.();
      unwatch = null;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      wakeAt = null;
    },
    notify() {
      if (!started || ticking) return;
      try {
        arm();
      } catch (err) {
        log.error("could not re-arm", { error: errorMessage(err) });
      }
    },
    running: () => [...inFlight.keys()],
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()]);
    },
    nextWakeAt: () => wakeAt,
  };
}
