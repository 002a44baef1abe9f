import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../../test/support/wait.ts";
import { silentLogger } from "../log/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { createScheduler, type Scheduler } from "./scheduler.ts";
import { createTaskService } from "./service.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function twoConnections(): [Store, Store] {
  const dir = mkdtempSync(join(tmpdir(), "ngb-sched-ext-"));
  const file = join(dir, "ngb.db");
  const serve = openStore(file);
  const cli = openStore(file);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => serve.close());
  cleanups.push(() => cli.close());
  serve.groups.add({
    jid: "tg:200",
    name: "team",
    folder: "team",
    triggerPattern: null,
    requiresTrigger: true,
    isMain: false,
    containerConfig: null,
  });
  return [serve, cli];
}

test("a task added by another process (the CLI) is picked up at once, not on the 60 s safety-net wake", async () => {
  const [serve, cli] = twoConnections();
  const dispatched: { id: string; scheduledFor: number; at: number }[] = [];
  const scheduler: Scheduler = createScheduler({
    store: serve,
    log: silentLogger(),
    maxSleepMs: 60_000,
    dispatch: async (task, scheduledFor) => {
      dispatched.push({ id: task.id, scheduledFor, at: Date.now() });
      return { status: "success", result: "ok" };
    },
  });
  scheduler.start();
  cleanups.push(() => scheduler.stop());
  const sleepingUntil = scheduler.nextWakeAt()!;
  // No event reaches this process: only the database changes.
  const task = createTaskService({ store: cli, defaultTimezone: "UTC" }).create(
    { groupFolder: "team", prompt: "from the cli", scheduleType: "once", scheduleValue: "in 1s" },
    { kind: "cli" },
  );
  await until(() => dispatched.length === 1, { timeoutMs: 10_000, what: "the CLI's task to run" });
  expect(dispatched[0]!.id).toBe(task.id);
  expect(dispatched[0]!.at).toBeGreaterThanOrEqual(task.nextRun!);
  expect(dispatched[0]!.at).toBeLessThan(sleepingUntil);
  await scheduler.idle();
  expect(serve.tasks.get(task.id)!.status).toBe("completed");
});
