/**
 * Activity frames: what the agent is doing (a tool call started, the model is writing), for
 * the host's progress display and hung-agent detection. Throttled per kind and tool name, so
 * a chatty agent costs at most one frame per second per tool on stdout.
 */
import type { SDKAssistantMessage } from "@anthropic-ai/claude-agent-sdk";
import type { ActivityFrame } from "../../../src/protocol/index.ts";
import type { FrameWriter } from "./io.ts";

export interface ActivityOptions {
  write: FrameWriter;
  intervalMs?: number;
  now?: () => number;
}

/** Distinct keys remembered for throttling; beyond that the memory starts over. */
const MAX_KEYS = 256;

export function createActivityReporter(options: ActivityOptions) {
  const intervalMs = options.intervalMs ?? 1000;
  const now = options.now ?? Date.now;
  const last = new Map<string, number>();

  const emit = (frame: ActivityFrame) => {
    const key = `${frame.kind}:${frame.name ?? ""}`;
    const t = now();
    const prev = last.get(key);
    if (prev !== undefined && t - prev < intervalMs) return;
    if (last.size >= MAX_KEYS && prev === undefined) last.clear();
    last.set(key, t);
    options.write(frame);
  };

  return {
    emit,
    /** The frames an assistant message stands for: one per tool_use block, one for text. */
    assistant(msg: Pick<SDKAssistantMessage, "message">) {
      const content = Array.isArray(msg.message?.content) ? msg.message.content : [];
      for (const block of content) {
        if (block.type === "tool_use" || block.type === "server_tool_use" || block.type === "mcp_tool_use") {
          emit({ type: "activity", kind: "tool", name: String(block.name).slice(0, 200) });
        } else if (block.type === "text" || block.type === "thinking") {
          emit({ type: "activity", kind: "model" });
        }
      }
    },
  };
}
