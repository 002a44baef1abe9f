/** Scheduled tasks: schedules, the task service (CLI, REST, IPC) and the timer-driven scheduler. */
export { type Clock, systemClock, systemTimers, type Timers } from "./clock.ts";
export {
  ScheduleError,
  TaskForbiddenError,
  TaskNotFoundError,
  TaskQuotaError,
  TaskStateError,
} from "./errors.ts";
export {
  checkPrompt,
  checkTimezone,
  describeSchedule,
  formatDuration,
  hostTimezone,
  MAX_PROMPT_CHARS,
  MIN_INTERVAL_MS,
  nextRun,
  nextSlot,
  parseDuration,
  parseSchedule,
  type Schedule,
  type ScheduleInput,
  slotsBetween,
  storedSchedule,
  toStored,
} from "./schedule.ts";
export {
  createScheduler,
  type Dispatch,
  HOST_STOPPED,
  type RunOutcome,
  type Scheduler,
  type SchedulerOptions,
} from "./scheduler.ts";
export {
  type AgentTaskList,
  createTaskService,
  DEFAULT_TASK_QUOTAS,
  describeStored,
  newTaskId,
  shortestGap,
  type TaskActor,
  TaskInput,
  type TaskQuotas,
  type TaskService,
  type TaskServiceOptions,
  type TaskSnapshotEntry,
} from "./service.ts";
