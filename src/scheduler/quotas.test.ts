/**
 * Task quotas for non-main groups (count, prompt size, minimum interval, cron frequency) and
 * the bounded list an agent reads. Refusals name the group, the rule and the limit; the main
 * (admin) group is not limited.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createHarness, type Harness } from "../../test/support/scheduler-harness.ts";
import { TaskQuotaError } from "./errors.ts";
import { createTaskService, type TaskActor } from "./service.ts";

let h: Harness;
afterEach(() => h?.close());

const team: TaskActor = { kind: "group", groupFolder: "team", isMain: false };
const main: TaskActor = { kind: "group", groupFolder: "main", isMain: true };
const cli: TaskActor = { kind: "cli" };

function quotaError(fn: () => unknown): TaskQuotaError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TaskQuotaError) return err;
    throw err;
  }
  throw new Error("expected a TaskQuotaError");
}

const daily = { prompt: "p", scheduleType: "cron", scheduleValue: "0 9 * * *" } as const;

describe("task quotas (defaults)", () => {
  test("a non-main group may have at most 50 active or paused tasks", () => {
    h = createHarness();
    const ids = [];
    for (let i = 0; i < 50; i++) ids.push(h.service.create(daily, team).id);
    const err = quotaError(() => h.service.create(daily, team));
    expect(err.groupFolder).toBe("team");
    expect(err.rule).toBe("maxTasksPerGroup");
    expect(err.limit).toBe(50);
    expect(err.message).toBe(
      "group team: already has 50 active or paused tasks, the limit is 50; cancel one first (quotas.maxTasksPerGroup = 50)",
    );
    // The admin surfaces count the group's tasks too: the quota is the group's.
    expect(() => h.service.create({ ...daily, groupFolder: "team" }, cli)).toThrow(TaskQuotaError);
    // A cancelled task frees a slot; a paused one does not.
    h.service.pause(ids[0]!, team);
    expect(() => h.service.create(daily, team)).toThrow(TaskQuotaError);
    h.service.cancel(ids[1]!, team);
    expect(h.service.create(daily, team).status).toBe("active");
    // Other groups are not affected, and main is not limited.
    expect(h.service.create({ ...daily, groupFolder: "other" }, cli).groupFolder).toBe("other");
    for (let i = 0; i < 60; i++) h.service.create(daily, main);
  });

  test("a prompt over 4,000 characters is refused for a non-main group", () => {
    h = createHarness();
    const long = { ...daily, prompt: "x".repeat(4_001) };
    const err = quotaError(() => h.service.create(long, team));
    expect(err.rule).toBe("maxPromptChars");
    expect(err.message).toContain("4001 characters, over the limit of 4000");
    expect(h.service.create({ ...daily, prompt: "x".repeat(4_000) }, team).prompt).toHaveLength(4_000);
    expect(h.service.create(long, main).prompt).toHaveLength(4_001);
  });

  test("intervals and crons firing more often than every 5 minutes are refused", () => {
    h = createHarness();
    const every = (value: string) => ({ prompt: "p", scheduleType: "interval", scheduleValue: value });
    const err = quotaError(() => h.service.create(every("4m"), team));
    expect(err.rule).toBe("minIntervalMs");
    expect(err.message).toContain("group team:");
    expect(err.message).toContain("more often than every 5m");
    expect(h.service.create(every("5m"), team).scheduleValue).toBe("300000");
    const cron = (value: string) => ({ prompt: "p", scheduleType: "cron", scheduleValue: value });
    expect(quotaError(() => h.service.create(cron("* * * * *"), team)).rule).toBe("minIntervalMs");
    // Irregular: every minute but only during one hour of the day.
    expect(quotaError(() => h.service.create(cron("0-4 3 * * *"), team)).message).toContain("every 1m");
    expect(quotaError(() => h.service.create(cron("0,2 * * * *"), team)).rule).toBe("minIntervalMs");
    expect(h.service.create(cron("*/5 * * * *"), team).scheduleType).toBe("cron");
    // once-tasks have no interval; main may run every minute.
    expect(h.service.create({ prompt: "p", scheduleType: "once", scheduleValue: "in 1m" }, team).status).toBe(
      "active",
    );
    expect(h.service.create(cron("* * * * *"), main).scheduleType).toBe("cron");
  });

  test("quotas are configurable", () => {
    h = createHarness();
    const svc = createTaskService({
      store: h.store,
      clock: h.fake.clock,
      defaultTimezone: "UTC",
      quotas: { maxTasksPerGroup: 2, maxPromptChars: 10, minIntervalMs: 60_000 },
    });
    svc.create(daily, team);
    svc.create({ prompt: "p", scheduleType: "interval", scheduleValue: "1m" }, team);
    expect(quotaError(() => svc.create(daily, team)).message).toContain("(quotas.maxTasksPerGroup = 2)");
    expect(
      quotaError(() => svc.create({ ...daily, prompt: "x".repeat(11) }, { ...team, groupFolder: "other" }))
        .rule,
    ).toBe("maxPromptChars");
  });
});

describe("the agent's task list", () => {
  test("is bounded in count and prompt size, and says when it was cut", () => {
    h = createHarness();
    const svc = createTaskService({
      store: h.store,
      clock: h.fake.clock,
      defaultTimezone: "UTC",
      quotas: { listTasksMax: 3, listTasksPromptChars: 20 },
    });
    for (let i = 0; i < 5; i++) svc.create({ ...daily, prompt: `${i} ${"y".repeat(100)}` }, team);
    const list = svc.listForAgent("team", false);
    expect(list.total).toBe(5);
    expect(list.truncated).toBe(true);
    expect(list.tasks).toHaveLength(3);
    for (const t of list.tasks) expect(t.prompt.length).toBeLessThanOrEqual(21);
    expect(svc.snapshot("team", false)).toHaveLength(3);
    // Non-main sees only its own tasks.
    expect(svc.listForAgent("other", false)).toEqual({ tasks: [], total: 0, truncated: false });
    expect(svc.listForAgent("main", true).total).toBe(5);
  });
});
