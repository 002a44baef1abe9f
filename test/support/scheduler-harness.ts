/**
 * Test helpers for the scheduler feature (not imported by production code): a temp store with
 * two registered groups, the task service and a scheduler on a fake clock, and a controllable
 * dispatch that records every call.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFakeClock } from "../fakes/clock.ts";
import { createEventBus, type EventMap } from "../../src/events/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { openStore, type ScheduledTask } from "../../src/store/index.ts";
import {
  createScheduler,
  type RunOutcome,
  type Scheduler,
  type SchedulerOptions,
} from "../../src/scheduler/index.ts";
import { createTaskService } from "../../src/scheduler/index.ts";

export interface DispatchCall {
  taskId: string;
  scheduledFor: string;
  at: string;
  resolve(o: RunOutcome): void;
}

export function createHarness(start = "2026-01-05T08:00:00Z") {
  const dir = mkdtempSync(join(tmpdir(), "ngb-sched-"));
  const store = openStore(join(dir, "ngb.db"));
  store.groups.add({
    jid: "tg:100",
    name: "Main",
    folder: "main",
    triggerPattern: null,
    requiresTrigger: false,
    isMain: true,
    containerConfig: null,
  });
  store.groups.add({
    jid: "tg:200",
    name: "Team",
    folder: "team",
    triggerPattern: null,
    requiresTrigger: true,
    isMain: false,
    containerConfig: null,
  });
  store.groups.add({
    jid: "tg:300",
    name: "Other",
    folder: "other",
    triggerPattern: null,
    requiresTrigger: true,
    isMain: false,
    containerConfig: null,
  });
  const fake = createFakeClock(start);
  const events = createEventBus((err) => {
    throw err;
  });
  const seen: { name: keyof EventMap; payload: unknown }[] = [];
  events.onAny((name, payload) => seen.push({ name, payload }));
  const service = createTaskService({ store, clock: fake.clock, events, defaultTimezone: "UTC" });

  const calls: DispatchCall[] = [];
  /** "auto": resolve success at once; "manual": the test resolves each call. */
  let mode: "auto" | "manual" = "auto";
  let auto: (task: ScheduledTask) => RunOutcome | Promise<RunOutcome> = (t) => ({
    status: "success",
    result: `done ${t.id}`,
  });
  const dispatch = (task: ScheduledTask, scheduledFor: number) =>
    new Promise<RunOutcome>((resolve, reject) => {
      calls.push({
        taskId: task.id,
        scheduledFor: new Date(scheduledFor).toISOString(),
        at: new Date(fake.now()).toISOString(),
        resolve,
      });
      if (mode === "auto")
        Promise.resolve()
          .then(() => auto(task))
          .then(resolve, reject);
    });

  const schedulers: Scheduler[] = [];
  function scheduler(opts: Partial<SchedulerOptions> = {}): Scheduler {
    const s = createScheduler({
      store,
      dispatch,
      log: silentLogger(),
      events,
      clock: fake.clock,
      timers: fake.timers,
      maxSleepMs: 60_000,
      watchStore: false,
      ...opts,
    });
    schedulers.push(s);
    return s;
  }

  return {
    store,
    fake,
    events,
    seen,
    service,
    calls,
    scheduler,
    manual() {
      mode = "manual";
    },
    autoRespond(fn: typeof auto) {
      mode = "auto";
      auto = fn;
    },
    task: (id: string) => store.tasks.get(id)!,
    runs: (id: string) => store.tasks.runs(id, 100).reverse(),
    iso: (t: number | null) => (t === null ? null : new Date(t).toISOString()),
    close() {
      for (const s of schedulers) s.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
export type Harness = ReturnType<typeof createHarness>;
