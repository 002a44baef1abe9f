import { afterEach, describe, expect, test } from "bun:test";
import { createHarness, type Harness } from "../../test/support/scheduler-harness.ts";
import { createLogger } from "../log/index.ts";
import { HOST_STOPPED } from "./scheduler.ts";

let h: Harness;
afterEach(() => h?.close());

const MIN = 60_000;
const cli = { kind: "cli" } as const;
const every30m = (catchUp: "run-once" | "skip" = "run-once") =>
  h.service.create(
    {
      groupFolder: "team",
      prompt: "check the build",
      scheduleType: "interval",
      scheduleValue: "30m",
      catchUp,
    },
    cli,
  );

describe("on schedule", () => {
  test("an interval task runs at its due times, and a long run does not shift the schedule", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    h.manual();
    const task = every30m();
    h.scheduler().start();
    await h.fake.advance(29 * MIN);
    expect(h.calls).toHaveLength(0);
    await h.fake.advance(1 * MIN);
    expect(h.calls.map((c) => [c.scheduledFor, c.at])).toEqual([
      ["2026-01-05T08:30:00.000Z", "2026-01-05T08:30:00.000Z"],
    ]);
    // The claim was stored with next_run advanced and a running row, before the outcome.
    expect(h.task(task.id).claimedFor).toBe(Date.parse("2026-01-05T08:30:00Z"));
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T09:00:00.000Z");
    expect(h.runs(task.id).map((r) => r.status)).toEqual(["running"]);
    // The run takes 7 minutes.
    await h.fake.advance(7 * MIN);
    h.calls[0]!.resolve({ status: "success", result: "all green" });
    await h.fake.advance(0);
    const after = h.task(task.id);
    expect(after.claimedFor).toBeNull();
    expect(after.lastResult).toBe("all green");
    expect(h.iso(after.lastRun)).toBe("2026-01-05T08:30:00.000Z");
    expect(h.iso(after.nextRun)).toBe("2026-01-05T09:00:00.000Z");
    const [run] = h.runs(task.id);
    expect(run).toMatchObject({ status: "success", durationMs: 7 * MIN, result: "all green", error: null });
    await h.fake.advanceTo("2026-01-05T09:00:00Z");
    expect(h.calls.map((c) => c.at)).toEqual(["2026-01-05T08:30:00.000Z", "2026-01-05T09:00:00.000Z"]);
  });

  test("a Europe/Berlin cron fires once per day across the spring-forward change", async () => {
    h = createHarness("2026-03-27T12:00:00Z");
    h.service.create(
      {
        groupFolder: "team",
        prompt: "nightly",
        scheduleType: "cron",
        scheduleValue: "30 2 * * *",
        timezone: "Europe/Berlin",
      },
      cli,
    );
    h.scheduler().start();
    await h.fake.advanceTo("2026-03-30T12:00:00Z");
    expect(h.calls.map((c) => c.at)).toEqual([
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]);
  });

  test("a once task runs once and becomes completed", async () => {
    h = createHarness();
    const task = h.service.create(
      { groupFolder: "team", prompt: "remind me", scheduleType: "once", scheduleValue: "in 2h" },
      cli,
    );
    h.scheduler().start();
    await h.fake.advance(3 * 60 * MIN);
    expect(h.calls.map((c) => c.at)).toEqual(["2026-01-05T10:00:00.000Z"]);
    expect(h.task(task.id)).toMatchObject({ status: "completed", nextRun: null, claimedFor: null });
    expect(
      h.seen.some(
        (e) => e.name === "task.changed" && (e.payload as { status: string }).status === "completed",
      ),
    ).toBe(true);
    await h.fake.advance(24 * 60 * MIN);
    expect(h.calls).toHaveLength(1);
  });

  test("a task created while the scheduler sleeps re-arms the timer and runs on time", async () => {
    h = createHarness();
    const s = h.scheduler();
    s.start();
    expect(s.nextWakeAt()).toBe(h.fake.now() + 60_000);
    await h.fake.advance(5_000);
    h.service.create(
      { groupFolder: "team", prompt: "soon", scheduleType: "once", scheduleValue: "in 20s" },
      cli,
    );
    expect(s.nextWakeAt()).toBe(Date.parse("2026-01-05T08:00:25Z"));
    await h.fake.advance(20_000);
    expect(h.calls.map((c) => c.at)).toEqual(["2026-01-05T08:00:25.000Z"]);
  });

  test("a change written by another process (no event) is picked up on the safety-net wake", async () => {
    h = createHarness();
    h.scheduler({ maxSleepMs: 30_000 }).start();
    // Like `ngb tasks add` while serve runs: same database, no event on this bus.
    h.store.tasks.insert({
      id: "task-external",
      groupFolder: "team",
      chatJid: "tg:200",
      prompt: "from the cli",
      scheduleType: "once",
      scheduleValue: "2026-01-05T08:00:10.000Z",
      timezone: null,
      contextMode: "isolated",
      catchUp: "run-once",
      status: "active",
      nextRun: Date.parse("2026-01-05T08:00:10Z"),
      createdBy: "cli",
      createdAt: h.fake.now(),
    });
    await h.fake.advance(60_000);
    expect(h.calls.map((c) => [c.taskId, c.at])).toEqual([["task-external", "2026-01-05T08:00:30.000Z"]]);
  });
});

describe("catch-up after downtime", () => {
  test("run-once: exactly one catch-up run at start-up, then back on the schedule", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    const task = every30m("run-once");
    // ngb is down from 08:00 to 10:10: slots 08:30, 09:00, 09:30, 10:00 are missed.
    h.fake.set("2026-01-05T10:10:00Z");
    h.scheduler().start();
    await h.fake.advance(0);
    expect(h.calls.map((c) => [c.scheduledFor, c.at])).toEqual([
      ["2026-01-05T08:30:00.000Z", "2026-01-05T10:10:00.000Z"],
    ]);
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T10:30:00.000Z");
    expect(h.runs(task.id).map((r) => r.status)).toEqual(["success"]);
    await h.fake.advanceTo("2026-01-05T11:00:00Z");
    expect(h.calls.map((c) => c.at).slice(1)).toEqual([
      "2026-01-05T10:30:00.000Z",
      "2026-01-05T11:00:00.000Z",
    ]);
  });

  test("skip: a skipped run log row with the reason, next run is the next future slot", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    const task = every30m("skip");
    h.fake.set("2026-01-05T10:10:00Z");
    h.scheduler().start();
    await h.fake.advance(0);
    expect(h.calls).toHaveLength(0);
    const runs = h.runs(task.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      status: "skipped",
      scheduledFor: Date.parse("2026-01-05T08:30:00Z"),
      error:
        "missed while ngb was down: 4 runs between 2026-01-05T08:30:00.000Z and 2026-01-05T10:00:00.000Z",
    });
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T10:30:00.000Z");
    expect(
      h.seen.some((e) => e.name === "task.run" && (e.payload as { status: string }).status === "skipped"),
    ).toBe(true);
    await h.fake.advanceTo("2026-01-05T10:30:00Z");
    expect(h.calls.map((c) => c.at)).toEqual(["2026-01-05T10:30:00.000Z"]);
  });

  test("skip on a once task that was missed: logged skipped and completed", async () => {
    h = createHarness();
    const task = h.service.create(
      { groupFolder: "team", prompt: "x", scheduleType: "once", scheduleValue: "in 1h", catchUp: "skip" },
      cli,
    );
    h.fake.set("2026-01-05T12:00:00Z");
    h.scheduler().start();
    await h.fake.advance(0);
    expect(h.calls).toHaveLength(0);
    expect(h.task(task.id).status).toBe("completed");
    expect(h.runs(task.id)[0]!.error).toBe("missed while ngb was down: 1 run at 2026-01-05T09:00:00.000Z");
  });

  test("a crash mid-run: the running row becomes an error and run-once runs it again once", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    h.manual();
    const task = every30m("run-once");
    const first = h.scheduler();
    first.start();
    await h.fake.advanceTo("2026-01-05T08:30:00Z");
    expect(h.calls).toHaveLength(1);
    // The host dies: the dispatch never resolves, the claim stays in the database.
    first.stop();
    expect(h.task(task.id).claimedFor).toBe(Date.parse("2026-01-05T08:30:00Z"));
    h.fake.set("2026-01-05T08:40:00Z");
    h.autoRespond(() => ({ status: "success", result: "ok" }));
    h.scheduler().start();
    await h.fake.advance(0);
    expect(h.calls.map((c) => [c.scheduledFor, c.at])).toEqual([
      ["2026-01-05T08:30:00.000Z", "2026-01-05T08:30:00.000Z"],
      ["2026-01-05T08:30:00.000Z", "2026-01-05T08:40:00.000Z"],
    ]);
    const runs = h.runs(task.id);
    expect(runs.map((r) => [r.status, r.error])).toEqual([
      ["error", HOST_STOPPED],
      ["success", null],
    ]);
    expect(runs[0]!.durationMs).toBe(10 * MIN);
    expect(h.task(task.id)).toMatchObject({ claimedFor: null, status: "active" });
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T09:00:00.000Z");
  });

  test("a crash mid-run with skip: recorded as an error, no re-run, stays on schedule", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    h.manual();
    const task = every30m("skip");
    const first = h.scheduler();
    first.start();
    await h.fake.advanceTo("2026-01-05T08:30:00Z");
    first.stop();
    h.fake.set("2026-01-05T08:40:00Z");
    h.scheduler().start();
    await h.fake.advance(0);
    expect(h.calls).toHaveLength(1);
    expect(h.runs(task.id).map((r) => [r.status, r.error])).toEqual([["error", HOST_STOPPED]]);
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T09:00:00.000Z");
    expect(h.task(task.id).claimedFor).toBeNull();
  });
});

describe("busy groups, failures, pause", () => {
  test("a busy group: no second dispatch while the run waits; run-once catches up once after", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    h.manual();
    const task = every30m("run-once");
    h.scheduler().start();
    await h.fake.advanceTo("2026-01-05T10:05:00Z");
    expect(h.calls).toHaveLength(1);
    h.calls[0]!.resolve({ status: "success", result: "late" });
    await h.fake.advance(0);
    // 09:00, 09:30 and 10:00 passed during the run: one catch-up run, not three.
    expect(h.calls.map((c) => [c.scheduledFor, c.at])).toEqual([
      ["2026-01-05T08:30:00.000Z", "2026-01-05T08:30:00.000Z"],
      ["2026-01-05T09:00:00.000Z", "2026-01-05T10:05:00.000Z"],
    ]);
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T10:30:00.000Z");
  });

  test("a busy group with skip: the slots that fell during the run are logged skipped", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    h.manual();
    const task = every30m("skip");
    h.scheduler().start();
    await h.fake.advanceTo("2026-01-05T10:05:00Z");
    h.calls[0]!.resolve({ status: "success", result: "late" });
    await h.fake.advance(0);
    expect(h.calls).toHaveLength(1);
    expect(h.runs(task.id).map((r) => [r.status, r.error])).toEqual([
      ["success", null],
      [
        "skipped",
        "missed while the previous run was still in progress: 3 runs between 2026-01-05T09:00:00.000Z and 2026-01-05T10:00:00.000Z",
      ],
    ]);
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T10:30:00.000Z");
  });

  test("a failing task records the error and keeps its schedule", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    let n = 0;
    h.autoRespond(() => {
      n++;
      if (n === 1) return { status: "error", error: "container exited with code 1" };
      if (n === 2) throw new Error("docker is not running");
      if (n === 3) return { status: "timed-out" };
      return { status: "success", result: "fine again" };
    });
    const task = every30m();
    h.scheduler().start();
    await h.fake.advanceTo("2026-01-05T10:00:00Z");
    expect(h.calls).toHaveLength(4);
    expect(h.runs(task.id).map((r) => [r.status, r.error])).toEqual([
      ["error", "container exited with code 1"],
      ["error", "docker is not running"],
      ["timed-out", "the run timed out"],
      ["success", null],
    ]);
    const t = h.task(task.id);
    expect(t.status).toBe("active");
    expect(t.lastError).toBeNull();
    expect(t.lastResult).toBe("fine again");
    expect(h.iso(t.nextRun)).toBe("2026-01-05T10:30:00.000Z");
  });

  test("the last error stays on the task until a run succeeds", async () => {
    h = createHarness();
    h.autoRespond(() => ({ status: "error", error: "boom" }));
    const task = every30m();
    h.scheduler().start();
    await h.fake.advance(30 * MIN);
    expect(h.task(task.id)).toMatchObject({ lastError: "boom", status: "active" });
  });

  test("paused tasks don't run; resume recomputes next_run from now", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    const task = every30m();
    h.scheduler().start();
    h.service.pause(task.id, cli);
    await h.fake.advanceTo("2026-01-05T09:12:00Z");
    expect(h.calls).toHaveLength(0);
    const resumed = h.service.resume(task.id, cli);
    expect(h.iso(resumed.nextRun)).toBe("2026-01-05T09:42:00.000Z");
    await h.fake.advanceTo("2026-01-05T09:42:00Z");
    expect(h.calls.map((c) => c.at)).toEqual(["2026-01-05T09:42:00.000Z"]);
  });

  test("a task cancelled during its run stays cancelled", async () => {
    h = createHarness();
    h.manual();
    const task = every30m();
    h.scheduler().start();
    await h.fake.advance(30 * MIN);
    h.service.cancel(task.id, cli);
    h.calls[0]!.resolve({ status: "success", result: "x" });
    await h.fake.advance(0);
    expect(h.task(task.id)).toMatchObject({ status: "cancelled", nextRun: null, claimedFor: null });
    await h.fake.advance(120 * MIN);
    expect(h.calls).toHaveLength(1);
  });

  test("an invalid outcome from dispatch is recorded as an error", async () => {
    h = createHarness();
    h.autoRespond(() => ({ status: "maybe" }) as never);
    const task = every30m();
    h.scheduler().start();
    await h.fake.advance(30 * MIN);
    expect(h.runs(task.id)[0]!.error).toMatch(/invalid outcome/);
  });
});

describe("shutdown", () => {
  test("a run killed by the shutdown keeps its claim; the next start re-runs it (run-once)", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    h.manual();
    const task = every30m("run-once");
    const first = h.scheduler();
    first.start();
    await h.fake.advanceTo("2026-01-05T08:30:00Z");
    first.stop();
    // The orchestrator stops after the scheduler and kills the container.
    h.calls[0]!.resolve({ status: "error", error: "container killed" });
    await h.fake.advance(0);
    expect(h.task(task.id).claimedFor).toBe(Date.parse("2026-01-05T08:30:00Z"));
    h.autoRespond(() => ({ status: "success", result: "ok" }));
    h.scheduler().start();
    await h.fake.advance(0);
    expect(h.calls).toHaveLength(2);
    expect(h.runs(task.id).map((r) => [r.status, r.error])).toEqual([
      ["error", HOST_STOPPED],
      ["success", null],
    ]);
  });

  test("a run that succeeded during the shutdown is recorded, not re-run", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    h.manual();
    const task = every30m("run-once");
    const first = h.scheduler();
    first.start();
    await h.fake.advanceTo("2026-01-05T08:30:00Z");
    first.stop();
    h.calls[0]!.resolve({ status: "success", result: "made it" });
    await h.fake.advance(0);
    expect(h.task(task.id)).toMatchObject({ claimedFor: null, lastResult: "made it" });
    h.scheduler().start();
    await h.fake.advance(0);
    expect(h.calls).toHaveLength(1);
  });
});

test("a cron whose last slot has passed completes after that run", async () => {
  h = createHarness("2026-01-05T08:00:00Z");
  // Seven fields: second minute hour day month weekday year.
  const task = h.service.create(
    {
      groupFolder: "team",
      prompt: "one-off via cron",
      scheduleType: "cron",
      scheduleValue: "0 0 9 5 1 * 2026",
    },
    cli,
  );
  expect(h.iso(task.nextRun)).toBe("2026-01-05T09:00:00.000Z");
  h.scheduler().start();
  await h.fake.advance(2 * 60 * MIN);
  expect(h.calls).toHaveLength(1);
  expect(h.task(task.id)).toMatchObject({ status: "completed", nextRun: null });
});

test("a once task paused past its time runs when resumed, even with skip", async () => {
  h = createHarness("2026-01-05T08:00:00Z");
  const task = h.service.create(
    { groupFolder: "team", prompt: "later", scheduleType: "once", scheduleValue: "in 1h", catchUp: "skip" },
    cli,
  );
  h.scheduler().start();
  h.service.pause(task.id, cli);
  await h.fake.advanceTo("2026-01-05T12:00:00Z");
  expect(h.calls).toHaveLength(0);
  expect(h.iso(h.service.resume(task.id, cli).nextRun)).toBe("2026-01-05T12:00:00.000Z");
  await h.fake.advance(0);
  expect(h.calls.map((c) => c.at)).toEqual(["2026-01-05T12:00:00.000Z"]);
  expect(h.task(task.id).status).toBe("completed");
});

test("skip: a run due moments before start-up (within the grace) still runs", async () => {
  h = createHarness("2026-01-05T08:00:00Z");
  const task = every30m("skip");
  h.fake.set("2026-01-05T08:30:05Z");
  h.scheduler({ lateGraceMs: 60_000 }).start();
  await h.fake.advance(0);
  expect(h.calls.map((c) => c.scheduledFor)).toEqual(["2026-01-05T08:30:00.000Z"]);
  expect(h.runs(task.id).map((r) => r.status)).toEqual(["success"]);
});

test("a failing store: the loop logs, backs off and recovers without losing the run", async () => {
  h = createHarness("2026-01-05T08:00:00Z");
  const task = every30m();
  const realDue = h.store.tasks.due;
  let failuresLeft = 0;
  h.store.tasks.due = (now: number) => {
    if (failuresLeft-- > 0) throw new Error("database is locked");
    return realDue(now);
  };
  h.scheduler().start();
  await h.fake.advanceTo("2026-01-05T08:29:00Z");
  failuresLeft = 2;
  await h.fake.advanceTo("2026-01-05T08:30:00Z");
  expect(h.calls).toHaveLength(0);
  // Backs off 1 s, then 2 s, then runs the task (a little late, never skipped).
  await h.fake.advance(3_000);
  expect(h.calls.map((c) => [c.scheduledFor, c.at])).toEqual([
    ["2026-01-05T08:30:00.000Z", "2026-01-05T08:30:03.000Z"],
  ]);
  expect(h.runs(task.id).map((r) => r.status)).toEqual(["success"]);
});

describe("wall-clock jumps", () => {
  const logged = () => {
    const lines: string[] = [];
    const log = createLogger({
      level: "info",
      reporters: [{ log: (o) => void lines.push(o.args.map((a) => JSON.stringify(a)).join(" ")) }],
      collapse: { windowMs: 0 },
    });
    return { lines, log };
  };

  test("the clock set back 3 h: an interval task keeps its rhythm, one log line", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    const { lines, log } = logged();
    const task = every30m();
    h.scheduler({ log }).start();
    await h.fake.advance(10 * MIN);
    h.fake.jump(-3 * 60 * MIN);
    // 20 real minutes later the run is due, as it was before the jump (not 3 h and 20 min later).
    await h.fake.advance(20 * MIN);
    expect(h.calls.map((c) => c.at)).toEqual(["2026-01-05T05:30:00.000Z"]);
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T06:00:00.000Z");
    await h.fake.advance(30 * MIN);
    expect(h.calls.map((c) => c.at)).toEqual(["2026-01-05T05:30:00.000Z", "2026-01-05T06:00:00.000Z"]);
    const jumps = lines.filter((l) => l.includes("wall clock moved back"));
    expect(jumps).toHaveLength(1);
    expect(jumps[0]).toContain('"byMs":10800000');
  });

  test("the clock set back: an hourly cron fires at the next hour of the new time", async () => {
    h = createHarness("2026-01-05T08:10:00Z");
    const task = h.service.create(
      { groupFolder: "team", prompt: "hourly", scheduleType: "cron", scheduleValue: "0 * * * *" },
      cli,
    );
    h.scheduler().start();
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T09:00:00.000Z");
    h.fake.jump(-3 * 60 * MIN);
    await h.fake.advance(2 * MIN);
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T06:00:00.000Z");
    await h.fake.advanceTo("2026-01-05T06:00:00Z");
    expect(h.calls.map((c) => c.at)).toEqual(["2026-01-05T06:00:00.000Z"]);
  });

  test("small steps (NTP slew) change nothing; a large forward jump is logged and caught up once", async () => {
    h = createHarness("2026-01-05T08:00:00Z");
    const { lines, log } = logged();
    const task = every30m("run-once");
    h.scheduler({ log }).start();
    await h.fake.advance(5 * MIN);
    h.fake.jump(-1_000);
    await h.fake.advance(2 * MIN);
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T08:30:00.000Z");
    h.fake.jump(3 * 60 * MIN);
    await h.fake.advance(2 * MIN);
    expect(lines.filter((l) => l.includes("wall clock moved"))).toHaveLength(1);
    expect(lines.some((l) => l.includes("wall clock moved forward"))).toBe(true);
    // run-once: the 08:30 … 11:00 slots the jump skipped are one catch-up run, then on schedule.
    expect(h.calls.map((c) => c.scheduledFor)).toEqual(["2026-01-05T08:30:00.000Z"]);
    expect(h.iso(h.task(task.id).nextRun)).toBe("2026-01-05T11:30:00.000Z");
  });
});
