/**
 * The contract between the host and the agent runner inside a container (protocol v2). Both
 * sides import this one module (the agent runner bundles it), so the strings and shapes can
 * never drift apart.
 *
 * Everything travels over the container's stdio; the agent has no writable directory that the
 * host reads or writes (the host never follows a path an agent can write):
 *
 * - host → agent, **stdin**: one JSON object per line (NDJSON), each a `HostFrame`. The first
 *   line is `start` (the ContainerInput); then `input` (a follow-up), `close` (finish after the
 *   running turn) and `reply` (the host's answer to an agent `request`), in any order.
 * - agent → host, **stdout**: `AgentFrame`s, each one JSON line between OUTPUT_START and
 *   OUTPUT_END marker lines. Anything outside markers is ignored (logged) by the host.
 *   - `result`: one per SDK turn. `consumed` lists the ids of exactly the inputs that turn
 *     answered; the host advances its cursor by that, never by counting results.
 *   - `request`: an IPC request from the agent's MCP tools (send a message, schedule a task,
 *     list tasks…); the host validates and authorizes it with the identity of the container it
 *     came from (never from the payload) and answers with a `reply` frame of the same `reqId`.
 *   - `activity`: progress (a tool started, the model is working); also proves liveness.
 *
 * Model traffic over stdio (`container.transport: "stdio"`, for engines that share no file
 * system with the host): the runner's loopback forwarder sends each TCP connection of the
 * Claude Code CLI as `proxy_open` (agent → host), then `proxy_data` (base64 chunks of at most
 * PROXY_CHUNK_BYTES) and `proxy_end` both ways; the host connects each `conn` to the credential
 * proxy's unix socket locally. Flow control is a credit window per connection and direction:
 * a side sends at most PROXY_WINDOW_BYTES not yet acknowledged by a `proxy_ack` (sent by the
 * receiver once its local socket took the bytes), so neither stdio loop ever blocks on a slow
 * connection. At most PROXY_MAX_CONNS connections are open at once.
 *
 * The runner never merges inputs of different threads into one turn, and never hands the SDK a
 * new input while a turn is running (the SDK would fold it into that turn): each turn's inputs
 * are known exactly.
 *
 * Dependency-free except valibot, which the agent-runner bundle also carries.
 */
import * as v from "valibot";

export const PROTOCOL_VERSION = 2;

export const OUTPUT_START = "---NGB_OUTPUT_START---";
export const OUTPUT_END = "---NGB_OUTPUT_END---";

/** Largest stdin line the runner accepts, and largest frame JSON the host accepts (bytes). */
export const MAX_FRAME_BYTES = 2 * 1024 * 1024;

/** Container paths (fixed; the host mounts into them). */
export const CONTAINER_PATHS = {
  group: "/workspace/group",
  global: "/workspace/global",
  /** Main group only: every group's folder, read-only. */
  groups: "/workspace/groups",
  claudeHome: "/home/agent/.claude",
  extra: "/workspace/extra",
  proxySocket: "/run/ngb/proxy.sock",
} as const;

const Jid = v.pipe(v.string(), v.minLength(1), v.maxLength(256));
export const GroupFolder = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "folder must be lowercase letters, digits, - or _ (max 64)"),
);
/** Host-chosen id of one input (prompt or follow-up). */
export const InputId = v.pipe(v.string(), v.minLength(1), v.maxLength(128));
/** Opaque thread key: inputs with different keys are never merged into one turn. */
const ThreadKey = v.pipe(v.string(), v.maxLength(256));
const ReqId = v.pipe(v.string(), v.minLength(1), v.maxLength(64));
/** Text of one input (formatted messages or a task prompt). */
const InputText = v.pipe(v.string(), v.minLength(1), v.maxLength(1_000_000));

/** The `start` frame's payload: everything the runner needs to begin. */
export const ContainerInput = v.object({
  prompt: InputText,
  /** Id of the first input (the prompt); a result that answers it lists it in `consumed`. */
  inputId: InputId,
  /** Thread key of the first input. */
  thread: v.optional(ThreadKey),
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
  /**
   * The run's credential-proxy token, for engines where an environment variable would be
   * stored with the agent's definition (a Kubernetes pod spec); else NGB_PROXY_TOKEN.
   */
  proxyToken: v.optional(v.pipe(v.string(), v.maxLength(200))),
});
export type ContainerInput = v.InferOutput<typeof ContainerInput>;

// ---- host → agent (stdin, NDJSON) ----

export const StartFrame = v.object({ type: v.literal("start"), input: ContainerInput });
export const InputFrame = v.object({
  type: v.literal("input"),
  id: InputId,
  text: InputText,
  thread: v.optional(ThreadKey),
});
export const CloseFrame = v.object({ type: v.literal("close") });
export const ReplyFrame = v.object({
  type: v.literal("reply"),
  reqId: ReqId,
  ok: v.boolean(),
  /** For the model: a confirmation or the reason for a refusal. */
  text: v.pipe(v.string(), v.maxLength(1_000_000)),
});
// ---- model traffic over stdio (both directions) ----

/** Largest payload of one `proxy_data` frame (bytes before base64). */
export const PROXY_CHUNK_BYTES = 64 * 1024;
/** Unacknowledged bytes one side may have in flight per connection and direction. */
export const PROXY_WINDOW_BYTES = 1024 * 1024;
/** Proxy connections open at once per container. */
export const PROXY_MAX_CONNS = 16;

const ConnId = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 31 - 1));
/** Agent → host: a new connection of the CLI to the credential proxy. */
export const ProxyOpenFrame = v.object({ type: v.literal("proxy_open"), conn: ConnId });
/** Bytes of one connection, base64. */
export const ProxyDataFrame = v.object({
  type: v.literal("proxy_data"),
  conn: ConnId,
  b64: v.pipe(v.string(), v.maxLength(Math.ceil(PROXY_CHUNK_BYTES / 3) * 4)),
});
/** The sender's side of the connection ended (with the reason when it failed). */
export const ProxyEndFrame = v.object({
  type: v.literal("proxy_end"),
  conn: ConnId,
  error: v.optional(v.pipe(v.string(), v.maxLength(500))),
});
/** The receiver's local socket took `bytes` more of the connection: the sender may send more. */
export const ProxyAckFrame = v.object({
  type: v.literal("proxy_ack"),
  conn: ConnId,
  bytes: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(PROXY_WINDOW_BYTES)),
});
export type ProxyOpenFrame = v.InferOutput<typeof ProxyOpenFrame>;
export type ProxyDataFrame = v.InferOutput<typeof ProxyDataFrame>;
export type ProxyEndFrame = v.InferOutput<typeof ProxyEndFrame>;
export type ProxyAckFrame = v.InferOutput<typeof ProxyAckFrame>;
/** Frames of a proxied connection that either side may send. */
export type ProxyStreamFrame = ProxyDataFrame | ProxyEndFrame | ProxyAckFrame;

export const HostFrame = v.variant("type", [
  StartFrame,
  InputFrame,
  CloseFrame,
  ReplyFrame,
  ProxyDataFrame,
  ProxyEndFrame,
  ProxyAckFrame,
]);
export type HostFrame = v.InferOutput<typeof HostFrame>;
export type InputFrame = v.InferOutput<typeof InputFrame>;
export type ReplyFrame = v.InferOutput<typeof ReplyFrame>;

/** One host frame as a stdin line. */
export function encodeHostFrame(frame: HostFrame): string {
  return `${JSON.stringify(frame)}\n`;
}

// ---- agent → host (stdout, marker blocks) ----

export const Usage = v.object({
  inputTokens: v.number(),
  outputTokens: v.number(),
  cacheReadTokens: v.optional(v.number()),
  cacheWriteTokens: v.optional(v.number()),
});
export type Usage = v.InferOutput<typeof Usage>;

/** One SDK turn's result. */
export const ResultFrame = v.object({
  type: v.literal("result"),
  status: v.picklist(["success", "error"]),
  /** Text for the chat; null when the turn produced nothing to say (e.g. only tool calls). */
  result: v.nullable(v.pipe(v.string(), v.maxLength(1_000_000))),
  /** Ids of the inputs this turn answered (empty for a turn no input started). */
  consumed: v.pipe(v.array(InputId), v.maxLength(10_000)),
  newSessionId: v.optional(v.pipe(v.string(), v.maxLength(200))),
  error: v.optional(v.pipe(v.string(), v.maxLength(100_000))),
  usage: v.optional(Usage),
});
export type ResultFrame = v.InferOutput<typeof ResultFrame>;
/** Kept for readers of protocol v1 code: a result is a ContainerOutput. */
export type ContainerOutput = ResultFrame;

// IPC requests (the agent's MCP tools). Sizes are hard caps; quotas on top are the host's.
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
  timezone: v.optional(v.pipe(v.string(), v.maxLength(100))),
  catchUp: v.optional(CatchUp),
  /** Chat the result goes to; defaults to the group's own chat. */
  targetJid: v.optional(Jid),
});

const TaskRef = { taskId: v.pipe(v.string(), v.minLength(1), v.maxLength(64)) };
export const IpcPauseTask = v.object({ type: v.literal("pause_task"), ...TaskRef });
export const IpcResumeTask = v.object({ type: v.literal("resume_task"), ...TaskRef });
export const IpcCancelTask = v.object({ type: v.literal("cancel_task"), ...TaskRef });
/** The group's tasks (all tasks for main), answered as JSON text in the reply. */
export const IpcListTasks = v.object({ type: v.literal("list_tasks") });
/** Main only: registered groups and discovered chats, answered as JSON text. */
export const IpcListGroups = v.object({ type: v.literal("list_groups") });

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
  IpcListTasks,
  IpcListGroups,
  IpcRegisterGroup,
]);
export type IpcRequest = v.InferOutput<typeof IpcRequest>;

export const RequestFrame = v.object({
  type: v.literal("request"),
  reqId: ReqId,
  /** Input ids of the turn the request was made in (for stable idempotency keys), if any. */
  turn: v.optional(v.pipe(v.array(InputId), v.maxLength(10_000))),
  request: IpcRequest,
});
export type RequestFrame = v.InferOutput<typeof RequestFrame>;

export const ActivityFrame = v.object({
  type: v.literal("activity"),
  /** "tool": a tool call started (`name`); "model": the model is producing output. */
  kind: v.picklist(["tool", "model"]),
  name: v.optional(v.pipe(v.string(), v.maxLength(200))),
});
export type ActivityFrame = v.InferOutput<typeof ActivityFrame>;

export const AgentFrame = v.variant("type", [
  ResultFrame,
  RequestFrame,
  ActivityFrame,
  ProxyOpenFrame,
  ProxyDataFrame,
  ProxyEndFrame,
  ProxyAckFrame,
]);
export type AgentFrame = v.InferOutput<typeof AgentFrame>;

/** Serialize one frame for stdout (the runner side). */
export function formatFrame(frame: AgentFrame): string {
  return `${OUTPUT_START}\n${JSON.stringify(frame)}\n${OUTPUT_END}\n`;
}
