/** Scheduled tasks and their run log. The scheduler owns the logic; this is storage only. */
import type { Database } from "bun:sqlite";

export type TaskStatus = "active" | "paused" | "completed" | "cancelled";
export type RunStatus = "running" | "success" | "error" | "skipped" | "timed-out";

export interface ScheduledTask {
  id: string;
  groupFolder: string;
  chatJid: string;
  prompt: string;
  scheduleType: "cron" | "interval" | "once";
  scheduleValue: string;
  timezone: string | null;
  contextMode: "group" | "isolated";
  catchUp: "run-once" | "skip";
  status: TaskStatus;
  nextRun: number | null;
  lastRun: number | null;
  lastResult: string | null;
  lastError: string | null;
  claimedFor: number | null;
  claimedAt: number | null;
  createdBy: string;
  createdAt: number;
}

export interface TaskRunLog {
  id: number;
  taskId: string;
  scheduledFor: number | null;
  startedAt: number;
  durationMs: number | null;
  status: RunStatus;
  result: string | null;
  error: string | null;
}

interface TaskRow {
  id: string;
  group_folder: string;
  chat_jid: string;
  prompt: string;
  schedule_type: ScheduledTask["scheduleType"];
  schedule_value: string;
  timezone: string | null;
  context_mode: ScheduledTask["contextMode"];
  catch_up: ScheduledTask["catchUp"];
  status: TaskStatus;
  next_run: number | null;
  last_run: number | null;
  last_result: string | null;
  last_error: string | null;
  claimed_for: number | null;
  claimed_at: number | null;
  created_by: string;
  created_at: number;
}

interface RunRow {
  id: number;
  task_id: string;
  scheduled_for: number | null;
  started_at: number;
  duration_ms: number | null;
  status: RunStatus;
  result: string | null;
  error: string | null;
}

const toTask = (r: TaskRow): ScheduledTask => ({
  id: r.id,
  groupFolder: r.group_folder,
  chatJid: r.chat_jid,
  prompt: r.prompt,
  scheduleType: r.schedule_type,
  scheduleValue: r.schedule_value,
  timezone: r.timezone,
  contextMode: r.context_mode,
  catchUp: r.catch_up,
  status: r.status,
  nextRun: r.next_run,
  lastRun: r.last_run,
  lastResult: r.last_result,
  lastError: r.last_error,
  claimedFor: r.claimed_for,
  claimedAt: r.claimed_at,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

const toRun = (r: RunRow): TaskRunLog => ({
  id: r.id,
  taskId: r.task_id,
  scheduledFor: r.scheduled_for,
  startedAt: r.started_at,
  durationMs: r.duration_ms,
  status: r.status,
  result: r.result,
  error: r.error,
});

export function createTaskRepo(db: Database) {
  const insert = db.query(
    `INSERT INTO scheduled_tasks (id, group_folder, chat_jid, prompt, schedule_type, schedule_value, timezone,
       context_mode, catch_up, status, next_run, created_by, created_at)
     VALUES ($id, $groupFolder, $chatJid, $prompt, $scheduleType, $scheduleValue, $timezone, $contextMode, $catchUp,
       $status, $nextRun, $createdBy, $createdAt)`,
  );
  const byId = db.query<TaskRow, [string]>("SELECT * FROM scheduled_tasks WHERE id = ?");
  const all = db.query<TaskRow, []>("SELECT * FROM scheduled_tasks ORDER BY created_at");
  const byGroup = db.query<TaskRow, [string]>(
    "SELECT * FROM scheduled_tasks WHERE group_folder = ? ORDER BY created_at",
  );
  const due = db.query<TaskRow, [number]>(
    "SELECT * FROM scheduled_tasks WHERE status = 'active' AND next_run IS NOT NULL AND next_run <= ? ORDER BY next_run",
  );
  const nextDue = db.query<{ t: number | null }, []>(
    "SELECT min(next_run) AS t FROM scheduled_tasks WHERE status = 'active' AND next_run IS NOT NULL",
  );
  const runInsert = db.query<
    { id: number },
    [string, number | null, number, RunStatus, string | null, string | null]
  >(
    `INSERT INTO task_run_logs (task_id, scheduled_for, started_at, status, result, error) VALUES (?, ?, ?, ?, ?, ?)
     RETURNING id`,
  );
  const runFinish = db.query<unknown, [number, RunStatus, string | null, string | null, number]>(
    "UPDATE task_run_logs SET duration_ms = ?, status = ?, result = ?, error = ? WHERE id = ?",
  );
  const runs = db.query<RunRow, [string, number]>(
    "SELECT * FROM task_run_logs WHERE task_id = ? ORDER BY id DESC LIMIT ?",
  );

  return {
    insert(
      t: Omit<ScheduledTask, "lastRun" | "lastResult" | "lastError" | "claimedFor" | "claimedAt">,
    ): ScheduledTask {
      insert.run({
        $id: t.id,
        $groupFolder: t.groupFolder,
        $chatJid: t.chatJid,
        $prompt: t.prompt,
        $scheduleType: t.scheduleType,
        $scheduleValue: t.scheduleValue,
        $timezone: t.timezone,
        $contextMode: t.contextMode,
        $catchUp: t.catchUp,
        $status: t.status,
        $nextRun: t.nextRun,
        $createdBy: t.createdBy,
        $createdAt: t.createdAt,
      } as never);
      return this.get(t.id)!;
    },
    get(id: string): ScheduledTask | null {
      const r = byId.get(id);
      return r ? toTask(r) : null;
    },
    list(groupFolder?: string): ScheduledTask[] {
      return (groupFolder ? byGroup.all(groupFolder) : all.all()).map(toTask);
    },
    due(now: number): ScheduledTask[] {
      return due.all(now).map(toTask);
    },
    nextDueAt(): number | null {
      return nextDue.get()?.t ?? null;
    },
    /** Update any subset of mutable columns. */
    update(
      id: string,
      patch: Partial<
        Pick<
          ScheduledTask,
          | "status"
          | "nextRun"
          | "lastRun"
          | "lastResult"
          | "lastError"
          | "claimedFor"
          | "claimedAt"
          | "prompt"
        >
      >,
    ): void {
      const cols: Record<string, string> = {
        status: "status",
        nextRun: "next_run",
        lastRun: "last_run",
        lastResult: "last_result",
        lastError: "last_error",
        claimedFor: "claimed_for",
        claimedAt: "claimed_at",
        prompt: "prompt",
      };
      const sets: string[] = [];
      const values: (string | number | null)[] = [];
      for (const [k, v] of Object.entries(patch)) {
        const col = cols[k];
        if (!col || v === undefined) continue;
        sets.push(`${col} = ?`);
        values.push(v as string | number | null);
      }
      if (sets.length === 0) return;
      db.query(`UPDATE scheduled_tasks SET ${sets.join(", ")} WHERE id = ?`).run(...values, id);
    },
    startRun(
      taskId: string,
      scheduledFor: number | null,
      startedAt: number,
      status: RunStatus = "running",
    ): number {
      return runInsert.get(taskId, scheduledFor, startedAt, status, null, null)!.id;
    },
    /** A run that is recorded complete at once (skipped runs). */
    logRun(
      taskId: string,
      scheduledFor: number | null,
      at: number,
      status: RunStatus,
      result: string | null,
      error: string | null,
    ): number {
      return runInsert.get(taskId, scheduledFor, at, status, result, error)!.id;
    },
    finishRun(
      runId: number,
      durationMs: number,
      status: RunStatus,
      result: string | null,
      error: string | null,
    ): void {
      runFinish.run(durationMs, status, result, error, runId);
    },
    runs(taskId: string, limit = 50): TaskRunLog[] {
      return runs.all(taskId, limit).map(toRun);
    },
  };
}
export type TaskRepo = ReturnType<typeof createTaskRepo>;
