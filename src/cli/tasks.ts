/**
 * `ngb tasks list|add|pause|resume|cancel|runs`: scheduled tasks, straight on the store through
 * the task service (same validation and rules as the REST API and the agents' MCP tools).
 * Works with or without `ngb serve` running: a running serve notices the database commit at
 * once (it watches the store for other processes' commits) and, as a safety net, re-reads the
 * tasks at least every `schedulerMaxSleepMs` (default 60 s).
 */
import { defineCommand } from "citty";
import type { ScheduledTask, TaskRunLog } from "../store/index.ts";
import { globalArgs, jsonArg, loadContext, printTable, UsageError } from "./common.ts";

type Args = Parameters<typeof loadContext>[0];

async function withService<T>(
  args: Args,
  fn: (ctx: {
    service: import("../scheduler/index.ts").TaskService;
    describe: (t: ScheduledTask) => string;
  }) => T,
): Promise<Awaited<T>> {
  const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
  const { openStore, storeFile } = await import("../store/index.ts");
  const { createTaskService, describeStored } = await import("../scheduler/index.ts");
  const store = openStore(storeFile(config));
  try {
    const service = createTaskService({ store, defaultTimezone: config.timezone, quotas: config.quotas });
    return await fn({ service, describe: describeStored });
  } finally {
    store.close();
  }
}

const local = new Intl.DateTimeFormat("sv-SE", { dateStyle: "short", timeStyle: "short" });

/** "2026-01-05 09:00 (in 2h)" in the host's local time. */
export function localTime(t: number | null, now = Date.now()): string | null {
  if (t === null) return null;
  const d = t - now;
  const abs = Math.abs(d);
  const rel =
    abs < 60_000
      ? `${Math.round(abs / 1000)}s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)}m`
        : abs < 172_800_000
          ? `${Math.round(abs / 3_600_000)}h`
          : `${Math.round(abs / 86_400_000)}d`;
  return `${local.format(new Date(t))} (${d >= 0 ? `in ${rel}` : `${rel} ago`})`;
}

const out = (data: unknown) => process.stdout.write(`${JSON.stringify(data)}\n`);
const cli = { kind: "cli" } as const;

const list = defineCommand({
  meta: { name: "list", description: "List scheduled tasks (active and paused; --all for every task)" },
  args: {
    ...globalArgs,
    ...jsonArg,
    group: { type: "string", description: "Only this group's tasks (folder)" },
    all: { type: "boolean", description: "Include completed and cancelled tasks" },
  },
  run: ({ args }) =>
    withService(args, ({ service, describe }) => {
      const tasks = service
        .list(cli, { groupFolder: args.group })
        .filter((t) => args.all || t.status === "active" || t.status === "paused");
      if (args.json) return void out(tasks);
      const now = Date.now();
      printTable(
        tasks.map((t) => ({
          id: t.id,
          group: t.groupFolder,
          schedule: describe(t),
          status: t.status,
          next_run: t.status === "active" ? localTime(t.nextRun, now) : null,
          last_run: localTime(t.lastRun, now),
          last: t.lastRun === null ? null : t.lastError ? `error: ${t.lastError}` : "ok",
          prompt: t.prompt.replace(/\s+/g, " "),
        })),
      );
    }),
});

const add = defineCommand({
  meta: {
    name: "add",
    description: 'Schedule a task: --group <folder> --prompt "…" and one of --cron, --every, --at',
  },
  args: {
    ...globalArgs,
    ...jsonArg,
    group: { type: "string", description: "Group folder whose container runs the task", required: true },
    prompt: { type: "string", description: "What the agent should do", required: true },
    cron: { type: "string", description: 'Cron expression, e.g. "0 9 * * 1-5"' },
    tz: { type: "string", description: "IANA time zone for --cron / --at (default config timezone or host)" },
    every: { type: "string", description: "Interval: 30m, 2h, 1d, 1h30m or milliseconds" },
    at: { type: "string", description: 'Once: ISO time (2026-05-01T09:00:00+02:00) or "in 2h"' },
    context: {
      type: "enum",
      options: ["group", "isolated"],
      description: "Session: group or isolated (default)",
    },
    "catch-up": {
      type: "enum",
      options: ["run-once", "skip"],
      description: "Runs missed while ngb was down: run-once (default) or skip",
    },
    to: { type: "string", description: "Chat id the result goes to (default the group's chat)" },
  },
  run: ({ args }) => {
    const given = (["cron", "every", "at"] as const).filter((k) => args[k] !== undefined);
    if (given.length !== 1)
      throw new UsageError(
        `ngb tasks add: give exactly one of --cron, --every, --at (got ${given.length ? given.map((g) => `--${g}`).join(", ") : "none"})`,
      );
    const kind = given[0]!;
    return withService(args, ({ service, describe }) => {
      const task = service.create(
        {
          groupFolder: args.group,
          prompt: args.prompt,
          scheduleType: kind === "cron" ? "cron" : kind === "every" ? "interval" : "once",
          scheduleValue: args[kind]!,
          timezone: args.tz,
          contextMode: args.context as "group" | "isolated" | undefined,
          catchUp: args["catch-up"] as "run-once" | "skip" | undefined,
          targetJid: args.to,
        },
        cli,
      );
      if (args.json) return void out(task);
      process.stdout.write(
        `scheduled ${task.id}: ${describe(task)} in group ${task.groupFolder}, next run ${localTime(task.nextRun)}\n`,
      );
    });
  },
});

const idArg = { id: { type: "positional", description: "Task id (task-…)", required: true } } as const;

function change(verb: "pause" | "resume" | "cancel", description: string) {
  return defineCommand({
    meta: { name: verb, description },
    args: { ...globalArgs, ...jsonArg, ...idArg },
    run: ({ args }) =>
      withService(args, ({ service }) => {
        const task = service[verb](args.id, cli);
        if (args.json) return void out(task);
        const next = task.status === "active" ? `, next run ${localTime(task.nextRun)}` : "";
        process.stdout.write(`${task.id} is ${task.status}${next}\n`);
      }),
  });
}

const runs = defineCommand({
  meta: { name: "runs", description: "A task's run log, newest first" },
  args: {
    ...globalArgs,
    ...jsonArg,
    ...idArg,
    limit: { type: "string", description: "How many runs (default 20)" },
  },
  run: ({ args }) => {
    const limit = args.limit === undefined ? 20 : Number(args.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new UsageError(`ngb tasks runs: --limit must be a positive whole number (got "${args.limit}")`);
    return withService(args, ({ service }) => {
      const rows: TaskRunLog[] = service.runs(args.id, cli, limit);
      if (args.json) return void out(rows);
      const now = Date.now();
      printTable(
        rows.map((r) => ({
          started: localTime(r.startedAt, now),
          scheduled_for: r.scheduledFor === null ? null : local.format(new Date(r.scheduledFor)),
          status: r.status,
          duration: r.durationMs === null ? null : `${(r.durationMs / 1000).toFixed(1)}s`,
          detail: (r.error ?? r.result ?? "").replace(/\s+/g, " ") || null,
        })),
      );
    });
  },
});

export default defineCommand({
  meta: { name: "tasks", description: "List, add, pause, resume and cancel scheduled tasks" },
  subCommands: {
    list,
    add,
    pause: change("pause", "Pause a task (it keeps its schedule, does not run)"),
    resume: change("resume", "Resume a paused task (next run computed from now)"),
    cancel: change("cancel", "Cancel a task for good"),
    runs,
  },
});
