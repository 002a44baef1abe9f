/**
 * Scheduler figures: 10,000 active tasks (mixed cron in several zones / interval) — time to
 * validate and store them, and to compute and persist all next runs; then wake-up lateness
 * (due time → dispatch called) with the real timer while 200 of them fall due over ~2 s.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/log/index.ts";
import { createScheduler, createTaskService, nextRun, type RunOutcome } from "../../src/scheduler/index.ts";
import { openStore } from "../../src/store/index.ts";

const TASKS = 10_000;
const DUE = 200;
const SPREAD_MS = 2_000;
const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;

export async function bench(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-sched-"));
  const store = openStore(join(dir, "ngb.db"));
  try {
    store.groups.add({
      jid: "web:bench",
      name: "bench",
      folder: "bench",
      triggerPattern: null,
      requiresTrigger: false,
      isMain: false,
      containerConfig: null,
    });
    const service = createTaskService({ store, defaultTimezone: "UTC" });
    const actor = { kind: "cli" } as const;

    // 1. Create (validate + insert) 10k tasks, half cron, half interval.
    let t0 = performance.now();
    store.db.run("BEGIN");
    for (let i = 0; i < TASKS; i++) {
      const cron = i % 2 === 0;
      service.create(
        {
          groupFolder: "bench",
          prompt: `bench task ${i}`,
          scheduleType: cron ? "cron" : "interval",
          scheduleValue: cron
            ? `${i % 60} ${(i >> 6) % 24} * * ${i % 3 === 0 ? "1-5" : "*"}`
            : `${10 + (i % 1430)}m`,
          timezone: cron ? ZONES[i % ZONES.length] : undefined,
        },
        actor,
      );
    }
    store.db.run("COMMIT");
    const createMs = performance.now() - t0;

    // 2. Compute every next run from the schedule and persist them in one transaction.
    const tasks = store.tasks.list();
    const now = Date.now();
    t0 = performance.now();
    const rows = tasks.map((t) => ({ id: t.id, nextRun: nextRun(t, now) }));
    const computeMs = performance.now() - t0;
    t0 = performance.now();
    store.tasks.setNextRuns(rows);
    const persistMs = performance.now() - t0;

    // 3. Lateness: 200 interval tasks fall due, spread over ~2 s, among the 10k.
    const start = Date.now() + 300;
    const due = tasks
      .filter((t) => t.scheduleType === "interval")
      .slice(0, DUE)
      .map((t, i) => ({ id: t.id, nextRun: start + Math.round((i * SPREAD_MS) / DUE) }));
    store.tasks.setNextRuns(due);
    const lateness: number[] = [];
    let resolveAll: () => void = () => {};
    const allDone = new Promise<void>((r) => {
      resolveAll = r;
    });
    const scheduler = createScheduler({
      store,
      log: silentLogger(),
      maxSleepMs: 60_000,
      dispatch: async (_task, scheduledFor): Promise<RunOutcome> => {
        lateness.push(performance.timeOrigin + performance.now() - scheduledFor);
        if (lateness.length === DUE) resolveAll();
        return { status: "success", result: "ok" };
      },
    });
    scheduler.start();
    const timeout = setTimeout(resolveAll, SPREAD_MS + 10_000);
    await allDone;
    clearTimeout(timeout);
    await scheduler.idle();
    scheduler.stop();

    return {
      "scheduler: create 10k tasks (validate + insert)": `${(createMs / 1000).toFixed(2)} s (${Math.round(TASKS / (createMs / 1000)).toLocaleString("en-US")} tasks/s)`,
      "scheduler: compute 10k next runs": ms(computeMs),
      "scheduler: persist 10k next runs (1 transaction)": ms(persistMs),
      "scheduler: wake-up lateness p50 (200 due over 2 s, 10k active)": ms(percentile(lateness, 50)),
      "scheduler: wake-up lateness p99": ms(percentile(lateness, 99)),
      "scheduler: wake-up lateness max": ms(Math.max(...lateness)),
      "scheduler: runs dispatched": `${lateness.length} / ${DUE}`,
    };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  for (const [k, v] of Object.entries(await bench())) console.log(`${k.padEnd(66)} ${v}`);
}
