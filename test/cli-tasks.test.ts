/** `ngb tasks …` as a user runs it: a real child process on a temp store. */
import { expect, test } from "bun:test";
import { runNgb, tempWorkdir } from "./support/ngb.ts";

function oneLineError(r: { code: number; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^error: /);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

test("ngb tasks: add (cron/every/at), list, pause, resume, cancel, runs; bad input refused", async () => {
  using w = tempWorkdir("ngb-cli-tasks-");
  const ngb = (...args: string[]) => runNgb(args, { cwd: w.dir });
  expect((await ngb("groups", "add", "tg:200", "--folder", "team")).code).toBe(0);

  const cron = await ngb(
    "tasks",
    "add",
    "--group",
    "team",
    "--cron",
    "0 9 * * 1-5",
    "--tz",
    "Europe/Berlin",
    "--prompt",
    "summarize the news",
    "--json",
  );
  expect(cron.code).toBe(0);
  const t1 = JSON.parse(cron.stdout);
  expect(t1).toMatchObject({
    groupFolder: "team",
    chatJid: "tg:200",
    scheduleType: "cron",
    timezone: "Europe/Berlin",
  });
  const every = await ngb(
    "tasks",
    "add",
    "--group",
    "team",
    "--every",
    "30m",
    "--prompt",
    "check the build",
    "--catch-up",
    "skip",
  );
  expect(every.stdout).toMatch(
    /^scheduled task-[0-9a-f]+: every 30m in group team, next run \d{4}-\d\d-\d\d \d\d:\d\d \(in 30m\)/,
  );
  const at = await ngb(
    "tasks",
    "add",
    "--group",
    "team",
    "--at",
    "in 2h",
    "--prompt",
    "remind me",
    "--to",
    "tg:200",
  );
  expect(at.code).toBe(0);

  const list = JSON.parse((await ngb("tasks", "list", "--json")).stdout);
  expect(list.map((t: { prompt: string }) => t.prompt)).toEqual([
    "summarize the news",
    "check the build",
    "remind me",
  ]);
  const table = (await ngb("tasks", "list")).stdout;
  expect(table).toMatch(/^ID\s+GROUP\s+SCHEDULE\s+STATUS\s+NEXT_RUN/);
  expect(table).toContain('cron "0 9 * * 1-5" (Europe/Berlin)');

  expect((await ngb("tasks", "pause", t1.id)).stdout).toBe(`${t1.id} is paused\n`);
  expect((await ngb("tasks", "resume", t1.id)).stdout).toMatch(new RegExp(`^${t1.id} is active, next run `));
  expect((await ngb("tasks", "cancel", t1.id)).stdout).toBe(`${t1.id} is cancelled\n`);
  expect(JSON.parse((await ngb("tasks", "runs", t1.id, "--json")).stdout)).toEqual([]);
  expect((await ngb("tasks", "list", "--json")).stdout).not.toContain(t1.id);
  expect((await ngb("tasks", "list", "--all", "--json")).stdout).toContain(t1.id);

  oneLineError(await ngb("tasks", "resume", t1.id), /is cancelled; only a paused task can be resumed/);
  oneLineError(await ngb("tasks", "pause", "task-nope"), /no task with id "task-nope"/);
  const base = ["tasks", "add", "--group", "team", "--prompt", "p"];
  oneLineError(await ngb(...base, "--cron", "x"), /invalid cron expression "x"/);
  oneLineError(
    await ngb(...base, "--cron", "0 9 * * *", "--tz", "Mars/Base"),
    /unknown time zone "Mars\/Base"/,
  );
  oneLineError(await ngb(...base, "--every", "0"), /interval must be positive/);
  oneLineError(
    await ngb(...base, "--at", "2020-01-01T00:00:00Z"),
    /once: 2020-01-01T00:00:00Z is in the past/,
  );
  oneLineError(await ngb(...base), /give exactly one of --cron, --every, --at/);
  oneLineError(await ngb(...base, "--every", "1h", "--at", "in 1h"), /give exactly one of/);
  oneLineError(
    await ngb("tasks", "add", "--group", "nope", "--prompt", "p", "--every", "1h"),
    /no registered group/,
  );
  oneLineError(
    await ngb("tasks", "add", "--group", "team", "--prompt", "", "--every", "1h"),
    /prompt must not be empty/,
  );
  // Nothing half-valid was stored.
  expect(JSON.parse((await ngb("tasks", "list", "--all", "--json")).stdout)).toHaveLength(3);
}, 60_000);
