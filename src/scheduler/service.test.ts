import { afterEach, describe, expect, test } from "bun:test";
import { createHarness, type Harness } from "../../test/support/scheduler-harness.ts";
import { ScheduleError, TaskForbiddenError, TaskNotFoundError, TaskStateError } from "./errors.ts";
import type { TaskActor, TaskInput } from "./service.ts";

let h: Harness;
afterEach(() => h?.close());

const cli: TaskActor = { kind: "cli" };
const team: TaskActor = { kind: "group", groupFolder: "team", isMain: false };
const other: TaskActor = { kind: "group", groupFolder: "other", isMain: false };
const main: TaskActor = { kind: "group", groupFolder: "main", isMain: true };
const base = { prompt: "summarize the news", scheduleType: "cron", scheduleValue: "0 9 * * 1-5" } as const;

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

describe("create", () => {
  test("stores a valid task with its first next run, default chat and id", () => {
    h = createHarness("2026-01-05T08:00:00Z");
    const t = h.service.create({ ...base, timezone: "Europe/Berlin" }, team);
    expect(t.id).toMatch(/^task-[0-9a-f]{12}$/);
    expect(t).toMatchObject({
      groupFolder: "team",
      chatJid: "tg:200",
      scheduleType: "cron",
      scheduleValue: "0 9 * * 1-5",
      timezone: "Europe/Berlin",
      contextMode: "isolated",
      catchUp: "run-once",
      status: "active",
      createdBy: "group:team",
    });
    // 09:00 CET is 08:00Z, which is now: the first run is tomorrow (strictly in the future).
    expect(h.iso(t.nextRun)).toBe("2026-01-06T08:00:00.000Z");
  });

  test("uses the default zone and normalizes intervals", () => {
    h = createHarness("2026-01-05T08:00:00Z");
    const c = h.service.create({ groupFolder: "team", ...base }, cli);
    expect(c.timezone).toBe("UTC");
    expect(h.iso(c.nextRun)).toBe("2026-01-05T09:00:00.000Z");
    const i = h.service.create(
      {
        groupFolder: "team",
        prompt: "p",
        scheduleType: "interval",
        scheduleValue: "1h30m",
        contextMode: "group",
      },
      cli,
    );
    expect(i).toMatchObject({ scheduleValue: "5400000", timezone: null, contextMode: "group" });
    expect(h.iso(i.nextRun)).toBe("2026-01-05T09:30:00.000Z");
    expect(h.seen.filter((e) => e.name === "task.changed")).toHaveLength(2);
  });

  const bad: [string, Partial<TaskInput>, string, RegExp][] = [
    ["cron", { scheduleValue: "x" }, "cron", /^invalid cron expression "x": /],
    ["zone", { timezone: "Mars/Base" }, "timezone", /^unknown time zone "Mars\/Base"/],
    ["interval 0", { scheduleType: "interval", scheduleValue: 0 }, "interval", /^interval must be positive/],
    [
      "interval -",
      { scheduleType: "interval", scheduleValue: "-30m" },
      "interval",
      /^interval must be positive/,
    ],
    [
      "past",
      { scheduleType: "once", scheduleValue: "2020-01-01T00:00:00Z" },
      "once",
      /^once: 2020-01-01T00:00:00Z is in the past$/,
    ],
    ["empty prompt", { prompt: "" }, "prompt", /must not be empty/],
    ["huge prompt", { prompt: "p".repeat(20_000) }, "prompt", /too long/],
    ["prompt type", { prompt: 42 }, "prompt", /must not be empty/],
    ["type", { scheduleType: "hourly" }, "scheduleType", /cron, interval or once/],
    [
      "context",
      { contextMode: "shared" as never },
      "contextMode",
      /contextMode must be "group" or "isolated"/,
    ],
    ["catch-up", { catchUp: "all" as never }, "catchUp", /catchUp must be "run-once" or "skip"/],
    ["group", { groupFolder: "nope" }, "groupFolder", /no registered group with folder "nope"/],
  ];
  for (const [name, patch, field, message] of bad)
    test(`refuses ${name} and stores nothing`, () => {
      h = createHarness();
      const err = thrown(() =>
        h.service.create({ groupFolder: "team", ...base, ...patch } as TaskInput, cli),
      );
      expect(err).toBeInstanceOf(ScheduleError);
      expect((err as ScheduleError).field).toBe(field);
      expect(err.message).toMatch(message);
      expect(h.store.tasks.list()).toHaveLength(0);
      expect(h.seen.filter((e) => e.name === "task.changed")).toHaveLength(0);
    });

  test("the CLI must name the group", () => {
    h = createHarness();
    expect(thrown(() => h.service.create({ ...base }, cli)).message).toMatch(/groupFolder is required/);
  });
});

describe("authorization (same rules as IPC)", () => {
  test("a non-main group sees and changes only its own tasks; others are not found", () => {
    h = createHarness();
    const mine = h.service.create({ ...base }, team);
    const theirs = h.service.create({ ...base }, other);
    expect(h.service.list(team).map((t) => t.id)).toEqual([mine.id]);
    expect(h.service.get(mine.id, team).id).toBe(mine.id);
    for (const op of [
      () => h.service.get(theirs.id, team),
      () => h.service.pause(theirs.id, team),
      () => h.service.resume(theirs.id, team),
      () => h.service.cancel(theirs.id, team),
      () => h.service.runs(theirs.id, team),
    ]) {
      const err = thrown(op);
      expect(err).toBeInstanceOf(TaskNotFoundError);
      expect(err.message).toBe(`no task with id "${theirs.id}"`);
    }
    expect(h.task(theirs.id).status).toBe("active");
    expect(thrown(() => h.service.get("task-doesnotexist", team))).toBeInstanceOf(TaskNotFoundError);
  });

  test("a non-main group may not schedule for another group or send results elsewhere", () => {
    h = createHarness();
    expect(thrown(() => h.service.create({ ...base, groupFolder: "other" }, team))).toBeInstanceOf(
      TaskForbiddenError,
    );
    expect(thrown(() => h.service.create({ ...base, targetJid: "tg:300" }, team))).toBeInstanceOf(
      TaskForbiddenError,
    );
    expect(h.store.tasks.list()).toHaveLength(0);
    // Its own chat, named explicitly, is fine.
    expect(h.service.create({ ...base, targetJid: "tg:200" }, team).chatJid).toBe("tg:200");
  });

  test("main and the CLI see and change everything; main may schedule for another group", () => {
    h = createHarness();
    const t1 = h.service.create({ ...base }, team);
    const t2 = h.service.create({ ...base, groupFolder: "other", targetJid: "tg:999" }, main);
    expect(t2).toMatchObject({ groupFolder: "other", chatJid: "tg:999", createdBy: "group:main" });
    expect(h.service.list(main)).toHaveLength(2);
    expect(h.service.list(cli)).toHaveLength(2);
    expect(h.service.pause(t1.id, main).status).toBe("paused");
    expect(h.service.cancel(t2.id, cli).status).toBe("cancelled");
  });

  test("snapshot: a group's own tasks, main gets all; cancelled ones left out", () => {
    h = createHarness();
    const t1 = h.service.create({ ...base }, team);
    h.service.create({ ...base }, other);
    const t3 = h.service.create({ ...base }, team);
    h.service.cancel(t3.id, team);
    const snap = h.service.snapshot("team", false);
    expect(snap.map((s) => s.id)).toEqual([t1.id]);
    expect(snap[0]).toMatchObject({
      schedule: 'cron "0 9 * * 1-5" (UTC)',
      status: "active",
      nextRun: expect.any(String),
    });
    expect(h.service.snapshot("main", true)).toHaveLength(2);
  });
});

describe("state changes", () => {
  test("pause, resume, cancel and the errors for impossible changes", () => {
    h = createHarness("2026-01-05T08:00:00Z");
    const t = h.service.create(
      { groupFolder: "team", prompt: "p", scheduleType: "interval", scheduleValue: "1h" },
      cli,
    );
    expect(h.service.pause(t.id, cli).status).toBe("paused");
    expect(h.service.pause(t.id, cli).status).toBe("paused");
    expect(h.service.resume(t.id, cli).status).toBe("active");
    expect(h.service.cancel(t.id, cli)).toMatchObject({ status: "cancelled", nextRun: null });
    const err = thrown(() => h.service.resume(t.id, cli));
    expect(err).toBeInstanceOf(TaskStateError);
    expect(err.message).toBe(`task ${t.id} is cancelled; only a paused task can be resumed`);
    expect(thrown(() => h.service.pause(t.id, cli))).toBeInstanceOf(TaskStateError);
    expect(
      h.seen.filter((e) => e.name === "task.changed").map((e) => (e.payload as { status: string }).status),
    ).toEqual(["active", "paused", "active", "cancelled"]);
  });

  test("runs are listed newest first", () => {
    h = createHarness();
    const t = h.service.create({ ...base }, team);
    h.store.tasks.logRun(t.id, 1, 1, "skipped", null, "a");
    h.store.tasks.logRun(t.id, 2, 2, "skipped", null, "b");
    expect(h.service.runs(t.id, team, 10).map((r) => r.error)).toEqual(["b", "a"]);
    expect(h.service.runs(t.id, team, 1)).toHaveLength(1);
  });
});
