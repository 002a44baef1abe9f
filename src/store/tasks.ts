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

/** last_result / last_error on the task are a preview; the run log keeps the full text. */
const MAX_LAST_RESULT = 4_000;

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
    `SELECT * FROM scheduled_tasks WHERE status = 'active' AND next_run IS NOT NULL AND next_run <= ?
       AND claimed_for IS NULL ORDER BY next_run`,
  );
  const nextDue = db.query<{ t: number | null }, []>(
    `SELECT min(next_run) AS t FROM scheduled_tasks WHERE status = 'active' AND next_run IS NOT NULL
       AND claimed_for IS NULL`,
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
  const claimed = db.query<TaskRow, []>("SELECT * FROM scheduled_tasks WHERE claimed_for IS NOT NULL");
  const claim = db.query<unknown, [number, number, number | null, string]>(
    `UPDATE scheduled_tasks SET claimed_for = ?, claimed_at = ?, next_run = ?
     WHERE id = ? AND status = 'active' AND claimed_for IS NULL`,
  );
  const finishTask = db.query<unknown, [string | null, string | null, number, string]>(
    `UPDATE scheduled_tasks SET last_run = claimed_at, last_result = ?1, last_error = ?2,
       claimed_for = NULL, claimed_at = NULL,
       status = CASE WHEN ?3 = 1 AND status IN ('active', 'paused') THEN 'completed' ELSE status END,
       next_run = CASE WHEN ?3 = 1 THEN NULL ELSE next_run END
     WHERE id = ?4`,
  );
  const runFinishAt = db.query<unknown, [number, RunStatus, string | null, string | null, number]>(
    `UPDATE task_run_logs SET duration_ms = max(0, ? - started_at), status = ?, result = ?, error = ?
     WHERE id = ?`,
  );
  const abandonRuns = db.query<unknown, [number, string, string]>(
    `UPDATE task_run_logs SET duration_ms = max(0, ? - started_at), status = 'error', error = ?
     WHERE task_id = ? AND status = 'running'`,
  );
  const clearClaim = db.query<unknown, [string]>(
    "UPDATE scheduled_tasks SET claimed_for = NULL, claimed_at = NULL WHERE id = ?",
  );
  const setNext = db.query<unknown, [number | null, string]>(
    "UPDATE scheduled_tasks SET next_run = ? WHERE id = ?",
  );

  /** Claim a due run: the claim, the advanced next_run and a `running` log row, all or nothing. */
  const claimRunTx = db.transaction(
    (id: string, claimedFor: number, claimedAt: number, nextRun: number | null): number | null => {
      const changed = claim.run(claimedFor, claimedAt, nextRun, id).changes;
      if (changed === 0) return null;
      return runInsert.get(id, claimedFor, claimedAt, "running", null, null)!.id;
    },
  );
  const completeRunTx = db.transaction(
    (
      id: string,
      runId: number,
      finishedAt: number,
      status: RunStatus,
      result: string | null,
      error: string | null,
      complete: boolean,
    ) => {
      runFinishAt.run(finishedAt, status, result, error, runId);
      finishTask.run(
        result === null ? null : result.slice(0, MAX_LAST_RESULT),
        error === null ? null : error.slice(0, MAX_LAST_RESULT),
        complete ? 1 : 0,
        id,
      );
    },
  );
  const skipRunTx = db.transaction(
    (
      id: string,
      scheduledFor: number,
      at: number,
      reason: string,
      nextRun: number | null,
      complete: boolean,
    ): number => {
      const runId = runInsert.get(id, scheduledFor, at, "skipped", null, reason)!.id;
      setNext.run(nextRun, id);
      if (complete)
        db.query("UPDATE scheduled_tasks SET status = 'completed' WHERE id = ? AND status = 'active'").run(
          id,
        );
      return runId;
    },
  );
  const abandonClaimTx = db.transaction((id: string, at: number, error: string) => {
    abandonRuns.run(at, error, id);
    clearClaim.run(id);
  });
  const setNextManyTx = db.transaction((rows: { id: string; nextRun: number | null }[]) => {
    for (const r of rows) setNext.run(r.nextRun, r.id);
  });

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
    /** Active, unclaimed tasks due at `now`, earliest first. */
    due(now: number): ScheduledTask[] {
      return due.all(now).map(toTask);
    },
    /** Earliest next_run of an active, unclaimed task. */
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
    /** Tasks with a run in flight (or left in flight by a crashed host). */
    claimed(): ScheduledTask[] {
      return claimed.all().map(toTask);
    },
    /**
     * In ONE transaction: claim the run due at `claimedFor` (only if the task is active and not
     * already claimed), advance next_run and insert a `running` log row. Returns the run id, or
     * null when the task was not claimable (paused, cancelled or already running).
     */
    claimRun(id: string, claimedFor: number, claimedAt: number, nextRun: number | null): number | null {
      return claimRunTx(id, claimedFor, claimedAt, nextRun);
    },
    /**
     * In ONE transaction: finish the run log row, record last_run/last_result/last_error on the
     * task and clear its claim; `complete` marks a `once` task completed (unless cancelled).
     */
    completeRun(
      id: string,
      runId: number,
      outcome: { finishedAt: number; status: RunStatus; result: string | null; error: string | null },
      complete: boolean,
    ): void {
      completeRunTx(id, runId, outcome.finishedAt, outcome.status, outcome.result, outcome.error, complete);
    },
    /** In ONE transaction: a `skipped` log row with the reason, next_run moved on (`complete` for once). */
    skipRun(
      id: string,
      scheduledFor: number,
      at: number,
      reason: string,
      nextRun: number | null,
      complete: boolean,
    ): number {
      return skipRunTx(id, scheduledFor, at, reason, nextRun, complete);
    },
    /** A claim left by a crashed host: its `running` log rows become errors, the claim is cleared. */
    abandonClaim(id: string, at: number, error: string): void {
      abandonClaimTx(id, at, error);
    },
    /** Persist many next_run values in one transaction. */
    setNextRuns(rows: { id: string; nextRun: number | null }[]): void {
      setNextManyTx(rows);
    },
  };
}
export type TaskRepo = ReturnType<typeof createTaskRepo>;
