/**
 * `noopHooks`: what the orchestrator calls when no plugin is enabled. The interface itself,
 * `PipelineHooks`, lives with the other plugin types (types.ts); the plugin host implements it.
 */
import type { PipelineHooks } from "./types.ts";

export type { PipelineHooks };

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
  handles: () => false,
};
