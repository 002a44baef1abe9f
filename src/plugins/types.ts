/**
 * The plugin author's contract, types only: hook names, what each handler receives and may
 * return, the `api` a plugin's setup gets, and `PipelineHooks` (what the orchestrator calls).
 * Every module imports it with `import type`, because `ngb plugins new` embeds this very file as
 * the scaffold's `.ngb/plugin.ts`; the runtime values (`definePlugin`, hook lists) are in
 * define.ts, and the `declare` below gives them their types in the scaffold.
 */
import type * as v from "valibot";

/** Hooks that may change what flows through the pipeline: run one after another, by priority. */
export type ChangingHook = "message.received" | "message.sending" | "agent.starting" | "agent.result";
/** Hooks that only observe: run side by side, never change anything. */
export type ObservingHook =
  | "message.sent"
  | "task.running"
  | "task.finished"
  | "group.registered"
  | "serve.started"
  | "serve.stopping";
export type HookName = ChangingHook | ObservingHook;

export interface GroupRef {
  folder: string;
  jid: string;
  isMain: boolean;
}

/** A platform message before it is stored. */
export interface MessageReceivedEvent {
  chatJid: string;
  channel: string;
  sender: string;
  senderName: string;
  content: string;
  isFromMe: boolean;
  isBot: boolean;
  mentionsBot: boolean;
  threadId?: string;
  /** The registered group of the chat; absent for chats that are not registered. */
  group?: { folder: string; isMain: boolean };
  /** A one-to-one chat with the bot, when the platform says so (else unknown). */
  isDirect?: boolean;
}

/**
 * Nothing (carry on), `{ content }` (use this text), `{ mentionsBot: true }` (treat as
 * addressed to the bot: it triggers the agent like an @-mention), or `{ drop: reason }`
 * (stored, marked with the plugin and reason, never reaches the agent).
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing
export type MessageReceivedResult = void | { content?: string; mentionsBot?: boolean } | { drop: string };

export interface MessageSendingEvent {
  chatJid: string;
  text: string;
  source: "agent" | "ipc" | "task" | "api" | "plugin";
  /** The plugin that sends, when `source` is "plugin". */
  plugin?: string;
}
/** Nothing, `{ text }` (send this instead) or `{ cancel: reason }` (not sent). */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing
export type MessageSendingResult = void | { text: string } | { cancel: string };

export interface MessageSentEvent {
  chatJid: string;
  text: string;
  channel: string;
}

export interface AgentStartingEvent {
  group: GroupRef;
  prompt: string;
  kind: "messages" | "task" | "prompt";
}
/** Nothing, `{ prompt }` (replace it) and/or `{ context }` (put before the prompt). */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing
export type AgentStartingResult = void | { prompt?: string; context?: string };

export interface AgentResultEvent {
  group: { folder: string; jid: string };
  text: string | null;
  status: "success" | "error";
}
/** Nothing, `{ text }` (deliver this instead; null = nothing to say) or `{ suppress: reason }`. */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing
export type AgentResultResult = void | { text: string | null } | { suppress: string };

export interface TaskRunningEvent {
  taskId: string;
  groupFolder: string;
}
export interface TaskFinishedEvent {
  taskId: string;
  groupFolder: string;
  status: "success" | "error";
  error?: string;
}
export interface GroupRegisteredEvent {
  jid: string;
  folder: string;
  name: string;
}

export interface HookEvents {
  "message.received": MessageReceivedEvent;
  "message.sending": MessageSendingEvent;
  "message.sent": MessageSentEvent;
  "agent.starting": AgentStartingEvent;
  "agent.result": AgentResultEvent;
  "task.running": TaskRunningEvent;
  "task.finished": TaskFinishedEvent;
  "group.registered": GroupRegisteredEvent;
  "serve.started": Record<string, never>;
  "serve.stopping": Record<string, never>;
}

export interface HookResults {
  "message.received": MessageReceivedResult;
  "message.sending": MessageSendingResult;
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing
  "message.sent": void;
  "agent.starting": AgentStartingResult;
  "agent.result": AgentResultResult;
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing
  "task.running": void;
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing
  "task.finished": void;
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing
  "group.registered": void;
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing
  "serve.started": void;
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing
  "serve.stopping": void;
}

export type HookHandler<H extends HookName> = (
  event: Readonly<HookEvents[H]>,
) => HookResults[H] | Promise<HookResults[H]>;

export interface HookOptions {
  /** Higher runs first; default 0. Equal priorities run in registration order. */
  priority?: number;
  /** Time budget per call (ms); past it the handler is skipped for that event. Default 2000. */
  timeoutMs?: number;
}

export interface PluginLogger {
  debug(msg: string, details?: Record<string, unknown>): void;
  info(msg: string, details?: Record<string, unknown>): void;
  warn(msg: string, details?: Record<string, unknown>): void;
  error(msg: string, details?: Record<string, unknown>): void;
}

/** What a plugin may read about a registered group. */
export interface GroupInfo {
  jid: string;
  name: string;
  folder: string;
  isMain: boolean;
  requiresTrigger: boolean;
}

/** One stored message, as a plugin sees it. */
export interface MessageInfo {
  sender: string;
  senderName: string;
  content: string;
  timestamp: number;
  isFromMe: boolean;
  isBot: boolean;
}

export interface PluginApi<C = unknown> {
  /** The plugin's name. */
  readonly name: string;
  /** The plugin's config (`plugins.config.<name>`), parsed by its schema. */
  readonly config: C;
  /** A logger tagged with the plugin's name. */
  readonly log: PluginLogger;
  /** Register a handler. Unknown hook names are refused. */
  on<H extends HookName>(hook: H, handler: HookHandler<H>, options?: HookOptions): void;
  /** Send a message through the normal delivery path (message.sending runs for it). */
  send(jid: string, text: string): Promise<void>;
  /** The registered group of a chat, or null. */
  groupOf(jid: string): GroupInfo | null;
  /** The newest messages of a chat, oldest first (at most 100). */
  recentMessages(jid: string, limit?: number): MessageInfo[];
}

export type Teardown = () => void | Promise<void>;

// biome-ignore lint/suspicious/noExplicitAny: any valibot schema
export type AnySchema = v.GenericSchema<any, any>;

export interface PluginDefinition<S extends AnySchema = AnySchema> {
  /** Lowercase letters, digits and dashes; unique among loaded plugins. */
  name: string;
  version: string;
  description?: string;
  /** Schema of `plugins.config.<name>`; the parsed value is `api.config`. */
  config?: S;
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler may return nothing
  setup(api: PluginApi<v.InferOutput<S>>): void | Teardown | Promise<void | Teardown>;
}

/** Declare a plugin with typed config: `export default definePlugin({ … })`. */
export declare function definePlugin<S extends AnySchema>(def: PluginDefinition<S>): PluginDefinition<S>;

/**
 * The interface the orchestrator calls at each hook point (the call sites are the
 * orchestrator's). The plugin host implements it; `noopHooks` is the no-plugin version.
 */
export interface PipelineHooks {
  /**
   * Before a platform message is stored. May change the text or drop it (still stored, marked).
   * `mentionsBot: true` on continue: a plugin (e.g. `mention`) says the message addresses the
   * bot; the caller stores it with mentionsBot so it triggers like an @-mention.
   */
  messageReceived(m: {
    chatJid: string;
    channel: string;
    sender: string;
    senderName: string;
    content: string;
    isFromMe: boolean;
    isBot: boolean;
    mentionsBot: boolean;
    threadId?: string;
    group?: { folder: string; isMain: boolean };
    /** One-to-one chat with the bot, when the caller knows. */
    isDirect?: boolean;
  }): Promise<
    | { action: "continue"; content: string; mentionsBot?: boolean }
    | { action: "drop"; plugin: string; reason: string }
  >;
  /** Before a reply (agent result, IPC send_message, ngb send, plugin send) is handed to the channel. */
  messageSending(m: {
    chatJid: string;
    text: string;
    source: "agent" | "ipc" | "task" | "api" | "plugin" | "system";
    plugin?: string;
  }): Promise<{ action: "continue"; text: string } | { action: "cancel"; plugin: string; reason: string }>;
  messageSent(m: { chatJid: string; text: string; channel: string }): void;
  /** Before an agent run / follow-up input: may add context to or change the prompt. */
  agentStarting(m: {
    group: { folder: string; jid: string; isMain: boolean };
    prompt: string;
    kind: "messages" | "task" | "prompt";
  }): Promise<{ prompt: string }>;
  /** A result before delivery: may change or suppress it. */
  agentResult(m: {
    group: { folder: string; jid: string };
    text: string | null;
    status: "success" | "error";
  }): Promise<
    { action: "continue"; text: string | null } | { action: "suppress"; plugin: string; reason: string }
  >;
  taskRunning(m: { taskId: string; groupFolder: string }): void;
  taskFinished(m: { taskId: string; groupFolder: string; status: "success" | "error"; error?: string }): void;
  groupRegistered(m: { jid: string; folder: string; name: string }): void;
  serveStarted(): void;
  serveStopping(): Promise<void>;
  /**
   * True when an enabled plugin handles `hook` right now. Optional: a caller may skip building
   * a hook's input when false (the hooks themselves are cheap no-ops then anyway).
   */
  handles?(hook: HookName): boolean;
}
