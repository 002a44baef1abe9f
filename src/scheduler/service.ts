/**
 * The task service: the one place tasks are created and changed, shared by the IPC watcher
 * (agents' MCP tools), the REST API and the CLI. Everything is validated before anything is
 * stored, and authorization follows IPC: a non-main group sees and changes only its own tasks;
 * anyone else's task is "not found", so ids never leak.
 */
import { randomHex } from "../util/crypto.ts";
import * as v from "valibot";
import { definitionForJid } from "../channels/index.ts";
import type { EventBus } from "../events/index.ts";
import type { ScheduledTask, Store, TaskRunLog } from "../store/index.ts";
import { type Clock, systemClock } from "./clock.ts";
import {
  ScheduleError,
  TaskForbiddenError,
  TaskNotFoundError,
  TaskQuotaError,
  TaskStateError,
} from "./errors.ts";
import {
  checkPrompt,
  checkTimezone,
  describeSchedule,
  formatDuration,
  hostTimezone,
  nextSlot,
  parseSchedule,
  type Schedule,
  storedSchedule,
  toStored,
} from "./schedule.ts";

/** Who is asking: an admin surface (CLI, REST API) or a group's agent (identity from its IPC dir). */
export type TaskActor =
  | { kind: "cli" }
  | { kind: "api" }
  | { kind: "group"; groupFolder: string; isMain: boolean };

const Jid = v.pipe(
  v.string(),
  v.trim(),
  v.minLength(1, "must not be empty"),
  v.maxLength(256, "is too long"),
);

/** A new task as given by a person or an agent (shapes mirror IpcScheduleTask). */
export const TaskInput = v.object({
  /** The group whose container runs the task. Groups default to (and may only use) their own. */
  groupFolder: v.optional(v.string()),
  prompt: v.unknown(),
  scheduleType: v.string(),
  scheduleValue: v.union([v.string(), v.number()]),
  timezone: v.optional(v.nullable(v.string())),
  contextMode: v.optional(v.picklist(["group", "isolated"], 'must be "group" or "isolated"')),
  catchUp: v.optional(v.picklist(["run-once", "skip"], 'must be "run-once" or "skip"')),
  /** Chat the result goes to; default the group's own chat. */
  targetJid: v.optional(Jid),
});
export type TaskInput = v.InferInput<typeof TaskInput>;

/** One entry of `ipc/<group>/current_tasks.json`, read by the agent's list_tasks tool. */
export interface TaskSnapshotEntry {
  id: string;
  groupFolder: string;
  chatJid: string;
  prompt: string;
  scheduleType: ScheduledTask["scheduleType"];
  scheduleValue: string;
  timezone: string | null;
  /** For people and models: `every 30m`, `cron "0 9 * * 1-5" (Europe/Berlin)`. */
  schedule: string;
  contextMode: ScheduledTask["contextMode"];
  catchUp: ScheduledTask["catchUp"];
  status: ScheduledTask["status"];
  nextRun: string | null;
  lastRun: string | null;
  lastResult: string | null;
  lastError: string | null;
}

/** What a non-main group may ask for (config `quotas`); see DEFAULT_TASK_QUOTAS. */
export interface TaskQuotas {
  maxTasksPerGroup: number;
  maxPromptChars: number;
  minIntervalMs: number;
  listTasksMax: number;
  listTasksPromptChars: number;
}

export const DEFAULT_TASK_QUOTAS: TaskQuotas = {
  maxTasksPerGroup: 50,
  maxPromptChars: 4_000,
  minIntervalMs: 5 * 60_000,
  listTasksMax: 100,
  listTasksPromptChars: 500,
};

/** Runs of a cron schedule looked at to find its shortest gap. */
const CRON_GAP_SAMPLES = 48;

export interface TaskServiceOptions {
  store: Pick<Store, "tasks" | "groups">;
  clock?: Clock;
  events?: EventBus;
  /** IANA zone for tasks that name none (config.timezone); default the host's. */
  defaultTimezone?: string;
  /** Quotas for non-main groups (config `quotas`); defaults apply to what is not given. */
  quotas?: Partial<TaskQuotas>;
}

/** The agent's list_tasks answer: bounded in count and prompt size. */
export interface AgentTaskList {
  tasks: TaskSnapshotEntry[];
  /** Tasks the agent may see in all (more than `tasks.length` when cut). */
  total: number;
  truncated: boolean;
}

export type TaskService = ReturnType<typeof createTaskService>;

const isAdmin = (a: TaskActor) => a.kind !== "group" || a.isMain;
const actorName = (a: TaskActor) => (a.kind === "group" ? `group:${a.groupFolder}` : a.kind);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function newTaskId(): string {
  return `task-${randomHex(6)}`;
}

export function createTaskService(options: TaskServiceOptions) {
  const { store, events } = options;
  const clock = options.clock ?? systemClock;
  // Resolved on first use: time-zone data (ICU) costs idle memory, and serve may never need it.
  let zone: string | undefined;
  const defaultTimezone = () => {
    zone ??= checkTimezone(options.defaultTimezone ?? hostTimezone(), "config.timezone");
    return zone;
  };

  const changed = (t: ScheduledTask) => events?.emit("task.changed", { taskId: t.id, status: t.status });
  const quotas: TaskQuotas = { ...DEFAULT_TASK_QUOTAS, ...definedOnly(options.quotas ?? {}) };

  /** A non-main group's task must fit its quotas; the main (admin) group is not limited. */
  function checkQuotas(
    group: { folder: string; isMain: boolean },
    prompt: string,
    schedule: Schedule,
    now: number,
  ) {
    if (group.isMain) return;
    const g = group.folder;
    if (prompt.length > quotas.maxPromptChars)
      throw new TaskQuotaError(
        g,
        "maxPromptChars",
        quotas.maxPromptChars,
        `task prompt is ${prompt.length} characters, over the limit of ${quotas.maxPromptChars}`,
      );
    const gap = shortestGap(schedule, now);
    if (gap !== null && gap < quotas.minIntervalMs)
      throw new TaskQuotaError(
        g,
        "minIntervalMs",
        quotas.minIntervalMs,
        `${describeSchedule(schedule)} runs every ${formatDuration(gap)}, more often than every ${formatDuration(quotas.minIntervalMs)}`,
      );
    const live = store.tasks.list(g).filter((t) => t.status === "active" || t.status === "paused").length;
    if (live >= quotas.maxTasksPerGroup)
      throw new TaskQuotaError(
        g,
        "maxTasksPerGroup",
        quotas.maxTasksPerGroup,
        `already has ${live} active or paused tasks, the limit is ${quotas.maxTasksPerGroup}; cancel one first`,
      );
  }

  function snapshot(groupFolder: string, isMain: boolean): AgentTaskList {
    const all = (isMain ? store.tasks.list() : store.tasks.list(groupFolder)).filter(
      (t) => t.status === "active" || t.status === "paused",
    );
    const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);
    const tasks = all.slice(0, quotas.listTasksMax).map((t) => ({
      id: t.id,
      groupFolder: t.groupFolder,
      chatJid: t.chatJid,
      prompt: cut(t.prompt, quotas.listTasksPromptChars),
      scheduleType: t.scheduleType,
      scheduleValue: t.scheduleValue,
      timezone: t.timezone,
      schedule: describeStored(t),
      contextMode: t.contextMode,
      catchUp: t.catchUp,
      status: t.status,
      nextRun: iso(t.nextRun),
      lastRun: iso(t.lastRun),
      lastResult: t.lastResult === null ? null : cut(t.lastResult, quotas.listTasksPromptChars),
      lastError: t.lastError === null ? null : cut(t.lastError, quotas.listTasksPromptChars),
    }));
    return { tasks, total: all.length, truncated: all.length > tasks.length };
  }

  function visible(id: string, actor: TaskActor): ScheduledTask {
    const task = typeof id === "string" ? store.tasks.get(id) : null;
    if (!task || (!isAdmin(actor) && actor.kind === "group" && task.groupFolder !== actor.groupFolder))
      throw new TaskNotFoundError(String(id));
    return task;
  }

  return {
    /** Validate everything, then store the task with its first next_run. */
    create(input: TaskInput, actor: TaskActor): ScheduledTask {
      const parsed = v.safeParse(TaskInput, input);
      if (!parsed.success) {
        const issue = parsed.issues[0];
        const field = v.getDotPath(issue) ?? "task";
        throw new ScheduleError(field, `${field} ${issue.message}`);
      }
      const i = parsed.output;
      const prompt = checkPrompt(i.prompt);

      let groupFolder: string;
      if (actor.kind === "group") {
        groupFolder = i.groupFolder ?? actor.groupFolder;
        if (!actor.isMain && groupFolder !== actor.groupFolder)
          throw new TaskForbiddenError("a non-main group may only schedule tasks for itself");
      } else {
        if (!i.groupFolder)
          throw new ScheduleError("groupFolder", "groupFolder is required (the group that runs the task)");
        groupFolder = i.groupFolder;
      }
      const group = store.groups.byFolder(groupFolder);
      if (!group) throw new ScheduleError("groupFolder", `no registered group with folder "${groupFolder}"`);
      const chatJid = i.targetJid ?? group.jid;
      if (actor.kind === "group" && !actor.isMain && chatJid !== group.jid)
        throw new TaskForbiddenError("a non-main group may only send task results to its own chat");

      // --- channels that cannot send proactively (QQ): a task's output could never be delivered ---
      const owner = definitionForJid(chatJid);
      if (owner?.canSendProactively === false)
        throw new ScheduleError(
          "targetJid",
          `cannot schedule a task for ${chatJid}: ${owner.proactiveRefusal ?? `${owner.title} does not deliver messages nobody asked for`}`,
        );
      // ---

      const now = clock.now();
      const schedule = parseSchedule(
        { type: i.scheduleType, value: i.scheduleValue, timezone: i.timezone },
        { now, defaultTimezone: defaultTimezone() },
      );
      const nextRun = nextSlot(schedule, now);
      if (nextRun === null)
        throw new ScheduleError(schedule.type, `${describeSchedule(schedule)} never fires`);
      checkQuotas(group, prompt, schedule, now);

      const task = store.tasks.insert({
        id: newTaskId(),
        groupFolder,
        chatJid,
        prompt,
        ...toStored(schedule),
        contextMode: i.contextMode ?? "isolated",
        catchUp: i.catchUp ?? "run-once",
        status: "active",
        nextRun,
        createdBy: actorName(actor),
        createdAt: now,
      });
      changed(task);
      return task;
    },

    list(actor: TaskActor, options: { groupFolder?: string } = {}): ScheduledTask[] {
      if (!isAdmin(actor) && actor.kind === "group") return store.tasks.list(actor.groupFolder);
      return store.tasks.list(options.groupFolder);
    },

    get(id: string, actor: TaskActor): ScheduledTask {
      return visible(id, actor);
    },

    pause(id: string, actor: TaskActor): ScheduledTask {
      const task = visible(id, actor);
      if (task.status === "paused") return task;
      if (task.status !== "active")
        throw new TaskStateError(
          id,
          task.status,
          `task ${id} is ${task.status}; only an active task can be paused`,
        );
      store.tasks.update(id, { status: "paused" });
      const out = store.tasks.get(id)!;
      changed(out);
      return out;
    },

    /** Paused → active; next_run recomputed from now (a once-task past its time is due now). */
    resume(id: string, actor: TaskActor): ScheduledTask {
      const task = visible(id, actor);
      if (task.status === "active") return task;
      if (task.status !== "paused")
        throw new TaskStateError(
          id,
          task.status,
          `task ${id} is ${task.status}; only a paused task can be resumed`,
        );
      const schedule = storedSchedule(task);
      const now = clock.now();
      // A once-task resumed after its time runs now: resuming it says "do it".
      const nextRun = schedule.type === "once" ? Math.max(schedule.at, now) : nextSlot(schedule, now);
      store.tasks.update(id, { status: "active", nextRun });
      const out = store.tasks.get(id)!;
      changed(out);
      return out;
    },

    cancel(id: string, actor: TaskActor): ScheduledTask {
      const task = visible(id, actor);
      if (task.status === "cancelled") return task;
      store.tasks.update(id, { status: "cancelled", nextRun: null });
      const out = store.tasks.get(id)!;
      changed(out);
      return out;
    },

    /** The run log, newest first. */
    runs(id: string, actor: TaskActor, limit = 20): TaskRunLog[] {
      visible(id, actor);
      return store.tasks.runs(id, Math.max(1, Math.min(limit, 1_000)));
    },

    /** The tasks a group's agent may see, shaped for `current_tasks.json` (bounded, see listForAgent). */
    snapshot(groupFolder: string, isMain: boolean): TaskSnapshotEntry[] {
      return snapshot(groupFolder, isMain).tasks;
    },

    /**
     * The answer to an agent's list_tasks: at most `quotas.listTasksMax` tasks, prompts and
     * results cut to `quotas.listTasksPromptChars`, with the total so the agent knows it was cut.
     */
    listForAgent(groupFolder: string, isMain: boolean): AgentTaskList {
      return snapshot(groupFolder, isMain);
    },

    /** The quotas in effect. */
    quotas(): TaskQuotas {
      return { ...quotas };
    },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The shortest gap between runs of a repeating schedule, or null for a once-task. */
export function shortestGap(schedule: Schedule, now: number): number | null {
  if (schedule.type === "once") return null;
  if (schedule.type === "interval") return schedule.ms;
  let gap: number | null = null;
  let prev = nextSlot(schedule, now);
  for (let i = 1; i < CRON_GAP_SAMPLES && prev !== null; i++) {
    const next = nextSlot(schedule, prev);
    if (next === null) break;
    gap = gap === null ? next - prev : Math.min(gap, next - prev);
    prev = next;
  }
  return gap;
}

/** `describeSchedule` of a stored task, tolerant of a schedule that no longer parses. */
export function describeStored(
  t: Pick<ScheduledTask, "scheduleType" | "scheduleValue" | "timezone">,
): string {
  try {
    return describeSchedule(storedSchedule(t));
  } catch {
    return `${t.scheduleType} ${t.scheduleValue}`;
  }
}
