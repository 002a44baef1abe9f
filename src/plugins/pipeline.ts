/**
 * The interface the orchestrator calls at each hook point (the call sites are the
 * orchestrator's), and `noopHooks` for when no plugin is enabled. The plugin host implements it.
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
    source: "agent" | "ipc" | "task" | "api" | "plugin";
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
}

const done = Promise.resolve();

/** What runs when no plugin is enabled: answers at once, allocates only the result object. */
export const noopHooks: PipelineHooks = {
  messageReceived: (m) => Promise.resolve({ action: "continue", content: m.content }),
  messageSending: (m) => Promise.resolve({ action: "continue", text: m.text }),
  messageSent: () => {},
  agentStarting: (m) => Promise.resolve({ prompt: m.prompt }),
  agentResult: (m) => Promise.resolve({ action: "continue", text: m.text }),
  taskRunning: () => {},
  taskFinished: () => {},
  groupRegistered: () => {},
  serveStarted: () => {},
  serveStopping: () => done,
};
