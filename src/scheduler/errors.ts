/** Typed errors of the scheduler feature; the CLI prints them as one line, the web maps them to statuses. */
import { UserError } from "../util/errors.ts";

/** A schedule or task field is invalid. `field` names it (cron, timezone, interval, once, prompt…). */
export class ScheduleError extends UserError {
  override name = "ScheduleError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** No such task, or the actor may not see it (the same answer, so task ids never leak). */
export class TaskNotFoundError extends UserError {
  override name = "TaskNotFoundError";
  constructor(readonly taskId: string) {
    super(`no task with id "${taskId}"`);
  }
}

/** The actor may see the task but not do this (e.g. a non-main group targeting another chat). */
export class TaskForbiddenError extends UserError {
  override name = "TaskForbiddenError";
}

/** The task's status does not allow the change (e.g. resuming a cancelled task). */
export class TaskStateError extends UserError {
  override name = "TaskStateError";
  constructor(
    readonly taskId: string,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

/** A group asked for more than its quota allows (tasks, prompt size, frequency). */
export class TaskQuotaError extends UserError {
  override name = "TaskQuotaError";
  constructor(
    readonly groupFolder: string,
    /** The quota's config key under `quotas.` (maxTasksPerGroup, maxPromptChars, minIntervalMs). */
    readonly rule: string,
    readonly limit: number,
    message: string,
  ) {
    super(`group ${groupFolder}: ${message} (quotas.${rule} = ${limit})`);
  }
}
