import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "./index.ts";

let dir: string;
let store: Store;
afterEach(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup(scheduleType: "interval" | "once" = "interval") {
  dir = mkdtempSync(join(tmpdir(), "ngb-store-tasks-"));
  store = openStore(join(dir, "ngb.db"));
  return store.tasks.insert({
    id: "task-1",
    groupFolder: "team",
    chatJid: "tg:1",
    prompt: "p",
    scheduleType,
    scheduleValue: scheduleType === "once" ? "2026-01-01T00:00:00.000Z" : "60000",
    timezone: null,
    contextMode: "isolated",
    catchUp: "run-once",
    status: "active",
    nextRun: 1_000,
    createdBy: "cli",
    createdAt: 0,
  });
}

test("claimRun: claim + next_run + running row together, and never twice", () => {
  setup();
  const runId = store.tasks.claimRun("task-1", 1_000, 1_005, 61_000);
  expect(runId).toBeNumber();
  expect(store.tasks.get("task-1")).toMatchObject({ claimedFor: 1_000, claimedAt: 1_005, nextRun: 61_000 });
  expect(store.tasks.runs("task-1")).toEqual([
    expect.objectContaining({ id: runId!, status: "running", scheduledFor: 1_000, startedAt: 1_005 }),
  ]);
  // Claimed tasks are neither due nor the next wake-up.
  expect(store.tasks.due(100_000)).toEqual([]);
  expect(store.tasks.nextDueAt()).toBeNull();
  expect(store.tasks.claimRun("task-1", 61_000, 61_000, 121_000)).toBeNull();
  expect(store.tasks.runs("task-1")).toHaveLength(1);
});

test("claimRun refuses a paused task", () => {
  setup();
  store.tasks.update("task-1", { status: "paused" });
  expect(store.tasks.claimRun("task-1", 1_000, 1_000, 61_000)).toBeNull();
  expect(store.tasks.runs("task-1")).toHaveLength(0);
});

test("completeRun: run row finished, last_* set, claim cleared; a once task completes unless cancelled", () => {
  setup("once");
  const runId = store.tasks.claimRun("task-1", 1_000, 1_000, null)!;
  store.tasks.completeRun(
    "task-1",
    runId,
    { finishedAt: 4_000, status: "error", result: null, error: "boom" },
    true,
  );
  expect(store.tasks.get("task-1")).toMatchObject({
    status: "completed",
    lastRun: 1_000,
    lastError: "boom",
    claimedFor: null,
    claimedAt: null,
    nextRun: null,
  });
  expect(store.tasks.runs("task-1")[0]).toMatchObject({ status: "error", durationMs: 3_000, error: "boom" });

  store.tasks.update("task-1", { status: "active", nextRun: 5_000 });
  const r2 = store.tasks.claimRun("task-1", 5_000, 5_000, null)!;
  store.tasks.update("task-1", { status: "cancelled" });
  store.tasks.completeRun(
    "task-1",
    r2,
    { finishedAt: 6_000, status: "success", result: "x", error: null },
    true,
  );
  expect(store.tasks.get("task-1")).toMatchObject({ status: "cancelled", lastResult: "x", lastError: null });
});

test("skipRun and abandonClaim", () => {
  setup();
  store.tasks.skipRun("task-1", 1_000, 200_000, "missed while ngb was down: …", 241_000, false);
  expect(store.tasks.get("task-1")!.nextRun).toBe(241_000);
  expect(store.tasks.runs("task-1")[0]).toMatchObject({
    status: "skipped",
    error: "missed while ngb was down: …",
  });
  store.tasks.claimRun("task-1", 241_000, 241_000, 301_000);
  store.tasks.abandonClaim("task-1", 250_000, "host stopped during the run");
  expect(store.tasks.get("task-1")!.claimedFor).toBeNull();
  expect(store.tasks.runs("task-1")[0]).toMatchObject({
    status: "error",
    durationMs: 9_000,
    error: "host stopped during the run",
  });
  expect(store.tasks.claimed()).toEqual([]);
});
