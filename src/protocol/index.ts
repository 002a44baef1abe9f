/**
 * The contract between the host and the agent runner inside a container: output markers, the
 * stdin input, streamed results and the IPC file shapes. Both sides import this one module
 * (the agent runner bundles it), so the strings can never drift apart.
 *
 * Dependency-free except valibot, which the agent-runner bundle also carries.
 */
import * as v from "valibot";

export const OUTPUT_START = "---NGB_OUTPUT_START---";
export const OUTPUT_END = "---NGB_OUTPUT_END---";

/** File name that, written into `ipc/<group>/input/`, ends the warm session. */
export const CLOSE_SENTINEL = "_close";

/** Container paths (fixed; the host mounts into them). */
export const CONTAINER_PATHS = {
  group: "/workspace/group",
  global: "/workspace/global",
  project: "/workspace/project",
  ipc: "/workspace/ipc",
  claudeHome: "/home/agent/.claude",
  extra: "/workspace/extra",
  proxySocket: "/run/ngb/proxy.sock",
} as const;

const Jid = v.pipe(v.string(), v.minLength(1), v.maxLength(256));
const GroupFolder = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "folder must be lowercase letters, digits, - or _ (max 64)"),
);

/** One JSON object written to the container's stdin at start. */
export const ContainerInput = v.object({
  prompt: v.string(),
  sessionId: v.optional(v.string()),
  groupFolder: GroupFolder,
  chatJid: Jid,
  isMain: v.boolean(),
  isScheduledTask: v.optional(v.boolean()),
  taskId: v.optional(v.string()),
  assistantName: v.string(),
  model: v.optional(v.string()),
  /** Milliseconds the runner may wait for a follow-up before it ends itself. */
  idleTimeoutMs: v.optional(v.number()),
});
export type ContainerInput = v.InferOutput<typeof ContainerInput>;

export const Usage = v.object({
  inputTokens: v.number(),
  outputTokens: v.number(),
  cacheReadTokens: v.optional(v.number()),
  cacheWriteTokens: v.optional(v.number()),
});
export type Usage = v.InferOutput<typeof Usage>;

/** One result, printed between the markers as a single JSON line. */
export const ContainerOutput = v.object({
  status: v.picklist(["success", "error"]),
  /** Text for the chat; null when the turn produced nothing to say (e.g. only tool calls). */
  result: v.nullable(v.string()),
  newSessionId: v.optional(v.string()),
  error: v.optional(v.string()),
  usage: v.optional(Usage),
});
export type ContainerOutput = v.InferOutput<typeof ContainerOutput>;

/** Follow-up message written atomically into `ipc/<group>/input/<name>.json`. */
export const FollowUpInput = v.object({
  type: v.literal("message"),
  text: v.pipe(v.string(), v.minLength(1)),
});
export type FollowUpInput = v.InferOutput<typeof FollowUpInput>;

/** Serialize one output for stdout (the runner side). */
export function formatOutput(out: ContainerOutput): string {
  return `${OUTPUT_START}\n${JSON.stringify(out)}\n${OUTPUT_END}\n`;
}

// ---- IPC from the agent (files in ipc/<group>/messages/ and ipc/<group>/tasks/) ----

export const ScheduleType = v.picklist(["cron", "interval", "once"]);
export const ContextMode = v.picklist(["group", "isolated"]);
export const CatchUp = v.picklist(["run-once", "skip"]);

export const IpcSendMessage = v.object({
  type: v.literal("message"),
  chatJid: Jid,
  text: v.pipe(v.string(), v.minLength(1), v.maxLength(64_000)),
});

export const IpcScheduleTask = v.object({
  type: v.literal("schedule_task"),
  prompt: v.pipe(v.string(), v.minLength(1), v.maxLength(16_000)),
  scheduleType: ScheduleType,
  scheduleValue: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  contextMode: v.optional(ContextMode),
  timezone: v.optional(v.string()),
  catchUp: v.optional(CatchUp),
  /** Chat the result goes to; defaults to the group's own chat. */
  targetJid: v.optional(Jid),
});

const TaskRef = { taskId: v.pipe(v.string(), v.minLength(1), v.maxLength(64)) };
export const IpcPauseTask = v.object({ type: v.literal("pause_task"), ...TaskRef });
export const IpcResumeTask = v.object({ type: v.literal("resume_task"), ...TaskRef });
export const IpcCancelTask = v.object({ type: v.literal("cancel_task"), ...TaskRef });

export const IpcRegisterGroup = v.object({
  type: v.literal("register_group"),
  jid: Jid,
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  folder: GroupFolder,
  trigger: v.optional(v.pipe(v.string(), v.maxLength(200))),
  requiresTrigger: v.optional(v.boolean()),
});

export const IpcRequest = v.variant("type", [
  IpcSendMessage,
  IpcScheduleTask,
  IpcPauseTask,
  IpcResumeTask,
  IpcCancelTask,
  IpcRegisterGroup,
]);
export type IpcRequest = v.InferOutput<typeof IpcRequest>;

/** Sub-directories of `ipc/<group>/`. */
export const IPC_DIRS = {
  messages: "messages",
  tasks: "tasks",
  input: "input",
} as const;

/** Snapshot the host writes to `ipc/<group>/current_tasks.json` for the list_tasks tool. */
export const TASKS_SNAPSHOT = "current_tasks.json";
/** Snapshot of registered groups the host writes for the main group. */
export const GROUPS_SNAPSHOT = "available_groups.json";
