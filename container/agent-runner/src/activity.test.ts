import { describe, expect, test } from "bun:test";
import type { SDKAssistantMessage } from "@anthropic-ai/claude-agent-sdk";
import type { AgentFrame } from "../../../src/protocol/index.ts";
import { createActivityReporter } from "./activity.ts";

const assistant = (...content: Record<string, unknown>[]) =>
  ({ message: { content } }) as unknown as Pick<SDKAssistantMessage, "message">;

describe("activity frames", () => {
  test("one frame per tool_use and one for text, throttled per kind and name", () => {
    const frames: AgentFrame[] = [];
    let now = 1000;
    const a = createActivityReporter({ write: (f) => void frames.push(f), now: () => now });
    a.assistant(
      assistant({ type: "text", text: "let me look" }, { type: "tool_use", name: "Bash", input: {} }),
    );
    a.assistant(assistant({ type: "tool_use", name: "Bash", input: {} }, { type: "tool_use", name: "Grep" }));
    a.assistant(assistant({ type: "text", text: "more" }));
    expect(frames).toEqual([
      { type: "activity", kind: "model" },
      { type: "activity", kind: "tool", name: "Bash" },
      { type: "activity", kind: "tool", name: "Grep" },
    ]);
    now += 999;
    a.assistant(assistant({ type: "tool_use", name: "Bash" }));
    expect(frames).toHaveLength(3);
    now += 1;
    a.assistant(assistant({ type: "tool_use", name: "Bash" }, { type: "thinking", thinking: "hm" }));
    expect(frames.slice(3)).toEqual([
      { type: "activity", kind: "tool", name: "Bash" },
      { type: "activity", kind: "model" },
    ]);
  });

  test("a flood of distinct tool names stays bounded and odd content is ignored", () => {
    const frames: AgentFrame[] = [];
    const a = createActivityReporter({ write: (f) => void frames.push(f), now: () => 0 });
    for (let i = 0; i < 1000; i++)
      a.assistant(assistant({ type: "tool_use", name: `t${i}${"x".repeat(300)}` }));
    expect(frames).toHaveLength(1000);
    expect(frames.every((f) => f.type === "activity" && (f.name?.length ?? 0) <= 200)).toBe(true);
    a.assistant({ message: { content: "plain" } } as unknown as Pick<SDKAssistantMessage, "message">);
    expect(frames).toHaveLength(1000);
  });
});
