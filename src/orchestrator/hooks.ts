/**
 * The hooks the message and agent path calls (the plugin host implements them). Owned here so
 * the orchestrator never imports the plugin system; `noopHooks` is what runs without plugins.
 */
export interface PipelineHooks {
  /** Before a platform message is stored. May change the text or drop it (still stored, marked). */
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
    /** `mentionsBot`: a plugin says the message addresses the bot (it then triggers like an @-mention). */
    | { action: "continue"; content: string; mentionsBot?: boolean }
    | { action: "drop"; plugin: string; reason: string }
  >;
  /** Before a reply is handed to the channel. */
  messageSending(m: {
    chatJid: string;
    text: string;
    source: "agent" | "ipc" | "task" | "api" | "plugin" | "system";
    plugin?: string;
  }): Promise<{ action: "continue"; text: string } | { action: "cancel"; plugin: string; reason: string }>;
  messageSent(m: { chatJid: string; text: string; channel: string }): void;
  /** Before an agent input: may add context to or change the prompt. */
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
  /** True when an enabled plugin handles `hook` now (callers may skip building its input). */
  handles?(hook: string): boolean;
}

export const noopHooks: PipelineHooks = {
  messageReceived: async (m) => ({ action: "continue", content: m.content }),
  messageSending: async (m) => ({ action: "continue", text: m.text }),
  messageSent() {},
  agentStarting: async (m) => ({ prompt: m.prompt }),
  agentResult: async (m) => ({ action: "continue", text: m.text }),
  taskRunning() {},
  taskFinished() {},
  groupRegistered() {},
  serveStarted() {},
  async serveStopping() {},
};
