import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Options, SDKMessage, SDKResultMessage, SDKUserMessage } from "@anthropic-ai/claude-agent-sdk";
import {
  type AgentFrame,
  type ContainerInput,
  encodeHostFrame,
  type HostFrame,
  type RequestFrame,
  type ResultFrame,
} from "../../../src/protocol/index.ts";
import { loadRunnerConfig } from "./config.ts";
import { readHostFrames } from "./host-frames.ts";
import { silentRunnerLog } from "./io.ts";
import {
  additionalDirectories,
  type QueryFn,
  resultToFrame,
  runAgent,
  SCHEDULED_PREFIX,
  sessionExists,
} from "./runner.ts";

let root: string;
let proxy: ReturnType<typeof Bun.serve>;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ngb-runner-unit-"));
  proxy = Bun.serve({ unix: join(root, "proxy.sock"), fetch: () => new Response("ok") });
});
afterEach(async () => {
  await proxy.stop(true);
  rmSync(root, { recursive: true, force: true });
});

const SID = "11111111-2222-4333-8444-555555555555";

function result(text: string, extra: Partial<SDKResultMessage> = {}): SDKMessage {
  return {
    type: "result",
    subtype: "success",
    is_error: false,
    result: text,
    session_id: SID,
    usage: { input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 3, cache_creation_input_tokens: 0 },
    duration_ms: 1,
    num_turns: 1,
    ...extra,
  } as unknown as SDKMessage;
}

/**
 * A stand-in for the SDK: answers each streamed user message with one result. "explode"
 * throws like a crashed CLI; "ask:<text>" calls the ngb send_message tool first and answers
 * with the tool's result; "wait" answers only when `release()` is called.
 */
function echoQuery(
  seen: { prompts: string[]; options?: Options },
  hooks: { gate?: Promise<void> } = {},
): QueryFn {
  return ({ prompt, options }) => {
    seen.options = options;
    return (async function* () {
      for await (const m of prompt as AsyncIterable<SDKUserMessage>) {
        const text = String(m.message.content);
        seen.prompts.push(text);
        if (text === "explode") throw new Error("CLI crashed");
        if (text === "wait") {
          const signal = options?.abortController?.signal;
          const aborted = new Promise<void>((r) => signal?.addEventListener("abort", () => r()));
          await Promise.race([hooks.gate, aborted]);
          if (signal?.aborted) throw new Error("Claude Code process aborted by user");
        }
        if (text.startsWith("ask:")) {
          // biome-ignore lint/suspicious/noExplicitAny: calling the in-process MCP tool directly
          const server = options?.mcpServers?.ngb as any;
          const tools = server.instance._registeredTools;
          yield {
            type: "assistant",
            message: { content: [{ type: "tool_use", name: "mcp__ngb__send_message" }] },
          } as unknown as SDKMessage;
          const r = await tools.send_message.handler({ text: text.slice(4) }, {});
          yield result(`${r.isError ? "refused" : "sent"}: ${r.content[0].text}`);
          continue;
        }
        if (text === "background") {
          // A turn the CLI started by itself (e.g. a background task finished) comes first.
          yield result("background done", { user_message_uuids: ["00000000-0000-4000-8000-00000000000f"] });
        }
        yield result(text ? `re: ${text}` : "", m.uuid ? { user_message_uuids: [m.uuid] } : {});
      }
    })();
  };
}

/** stdin as the runner sees it: frames written by the test, ended by `end()`. */
function hostStdin() {
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  async function* stream(): AsyncGenerator<string> {
    while (true) {
      const next = lines.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (ended) return;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  }
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    frames: readHostFrames(stream())[Symbol.asyncIterator](),
    send(frame: HostFrame) {
      lines.push(encodeHostFrame(frame));
      poke();
    },
    end() {
      ended = true;
      poke();
    },
  };
}

function setup(input: Partial<ContainerInput> = {}) {
  const config = loadRunnerConfig({
    NGB_WORKSPACE_ROOT: root,
    NGB_AGENT_HOME: join(root, "home"),
    NGB_PROXY_SOCKET: join(root, "proxy.sock"),
    NGB_PROXY_TOKEN: "tok",
  });
  const frames: AgentFrame[] = [];
  const full: ContainerInput = {
    prompt: "start",
    inputId: "m0",
    groupFolder: "main",
    chatJid: "web:1",
    isMain: true,
    assistantName: "Andy",
    idleTimeoutMs: 30_000,
    ...input,
  };
  const stdin = hostStdin();
  const results = () => frames.filter((f): f is ResultFrame => f.type === "result");
  return {
    config,
    outputs: results,
    frames,
    stdin,
    input: full,
    deps: { config, input: full, frames: stdin.frames, write: (f: AgentFrame) => void frames.push(f) },
  };
}

const usage = { inputTokens: 10, outputTokens: 2, cacheReadTokens: 3, cacheWriteTokens: 0 };

async function until(fn: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("runAgent loop", () => {
  test("one result frame per turn naming its inputs; follow-ups feed the same query; close ends it", async () => {
    const s = setup({ thread: "t1" });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    const done = runAgent({ ...s.deps, log: silentRunnerLog, query: echoQuery(seen) });
    await until(() => s.outputs().length === 1);
    s.stdin.send({ type: "input", id: "m1", text: "again", thread: "t1" });
    await until(() => s.outputs().length === 2);
    s.stdin.send({ type: "close" });
    expect(await done).toBe(0);
    expect(seen.prompts).toEqual(["start", "again"]);
    expect(s.outputs()).toEqual([
      { type: "result", status: "success", result: "re: start", consumed: ["m0"], newSessionId: SID, usage },
      { type: "result", status: "success", result: "re: again", consumed: ["m1"], newSessionId: SID, usage },
    ]);
    const o = seen.options as Options;
    expect(o.cwd).toBe(join(root, "group"));
    expect(o.permissionMode).toBe("dontAsk");
    expect(o.allowedTools).toContain("mcp__ngb__*");
    expect(o.env?.ANTHROPIC_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(o.env?.ANTHROPIC_API_KEY).toBe("tok");
    expect(Object.keys(o.mcpServers ?? {})).toEqual(["ngb"]);
  });

  test("inputs queued during a turn: same thread merged into one turn, other threads their own", async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const s = setup({ prompt: "wait", thread: "a" });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    const done = runAgent({ ...s.deps, log: silentRunnerLog, query: echoQuery(seen, { gate }) });
    await until(() => seen.prompts.length === 1);
    s.stdin.send({ type: "input", id: "a1", text: "one", thread: "a" });
    s.stdin.send({ type: "input", id: "a2", text: "two", thread: "a" });
    s.stdin.send({ type: "input", id: "b1", text: "three", thread: "b" });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.prompts).toEqual(["wait"]); // nothing handed over while the turn runs
    release();
    await until(() => s.outputs().length === 3);
    s.stdin.send({ type: "close" });
    expect(await done).toBe(0);
    expect(seen.prompts).toEqual(["wait", "one\n\ntwo", "three"]);
    expect(s.outputs().map((o) => o.consumed)).toEqual([["m0"], ["a1", "a2"], ["b1"]]);
  });

  test("a result for a turn the CLI started itself consumes nothing; ours is answered after it", async () => {
    const s = setup({ prompt: "background", idleTimeoutMs: 50 });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    expect(await runAgent({ ...s.deps, log: silentRunnerLog, query: echoQuery(seen) })).toBe(0);
    expect(s.outputs().map((o) => [o.result, o.consumed])).toEqual([
      ["background done", []],
      ["re: background", ["m0"]],
    ]);
  });

  test("an MCP tool call is a request frame with the turn's ids; the tool result is the host's reply", async () => {
    const s = setup({ prompt: "ask:hello", idleTimeoutMs: 5000 });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    const done = runAgent({ ...s.deps, log: silentRunnerLog, query: echoQuery(seen) });
    await until(() => s.frames.some((f) => f.type === "request"));
    const req = s.frames.find((f): f is RequestFrame => f.type === "request") as RequestFrame;
    expect(req).toEqual({
      type: "request",
      reqId: expect.any(String),
      turn: ["m0"],
      request: { type: "message", chatJid: "web:1", text: "hello" },
    });
    expect(s.frames[0]).toEqual({ type: "activity", kind: "tool", name: "mcp__ngb__send_message" });
    s.stdin.send({ type: "reply", reqId: req.reqId, ok: false, text: "Refused: rate limit" });
    await until(() => s.outputs().length === 1);
    expect(s.outputs()[0]).toMatchObject({ result: "refused: Refused: rate limit", consumed: ["m0"] });
    s.stdin.send({ type: "close" });
    expect(await done).toBe(0);
  });

  test("the end of stdin (the host is gone) aborts a running turn and ends the run", async () => {
    const s = setup({ prompt: "wait" });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    const gate = new Promise<void>(() => {}); // the turn never finishes by itself
    const done = runAgent({ ...s.deps, log: silentRunnerLog, query: echoQuery(seen, { gate }) });
    await until(() => seen.prompts.length === 1);
    s.stdin.end();
    expect(await done).toBe(0);
    expect(seen.options?.abortController?.signal.aborted).toBe(true);
    expect(s.outputs()).toEqual([]); // the turn is unanswered: the host runs it again
  });

  test("global CLAUDE.md is appended; scheduled prompts are marked; a lost session is not resumed", async () => {
    mkdirSync(join(root, "global"), { recursive: true });
    writeFileSync(join(root, "global", "CLAUDE.md"), "Always answer in French.");
    const s = setup({ isScheduledTask: true, sessionId: SID, idleTimeoutMs: 50, model: "claude-x" });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    expect(await runAgent({ ...s.deps, log: silentRunnerLog, query: echoQuery(seen) })).toBe(0);
    expect(seen.prompts[0]).toBe(`${SCHEDULED_PREFIX}start`);
    const sp = seen.options?.systemPrompt as { append: string };
    expect(sp.append).toContain("Always answer in French.");
    expect(sp.append).toContain("Andy");
    expect(seen.options?.resume).toBeUndefined();
    expect(seen.options?.model).toBe("claude-x");

    // Once the transcript exists, the session is resumed.
    mkdirSync(join(root, "home", ".claude", "projects", "-workspace-group"), { recursive: true });
    writeFileSync(join(root, "home", ".claude", "projects", "-workspace-group", `${SID}.jsonl`), "{}\n");
    expect(sessionExists(s.config.paths.claudeConfigDir, SID)).toBe(true);
    const again = setup({ sessionId: SID, idleTimeoutMs: 50 });
    const seen2: { prompts: string[]; options?: Options } = { prompts: [] };
    await runAgent({ ...again.deps, log: silentRunnerLog, query: echoQuery(seen2) });
    expect(seen2.options?.resume).toBe(SID);
  });

  test("a crash of the CLI becomes one error result for the inputs of its turn, and exit 1", async () => {
    const s = setup({ idleTimeoutMs: 5000 });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    const done = runAgent({ ...s.deps, log: silentRunnerLog, query: echoQuery(seen) });
    await until(() => s.outputs().length === 1);
    s.stdin.send({ type: "input", id: "m1", text: "explode" });
    expect(await done).toBe(1);
    expect(s.outputs()[1]).toEqual({
      type: "result",
      status: "error",
      result: null,
      consumed: ["m1"],
      error: "CLI crashed",
    });
  });

  test("network mode: NGB_ANTHROPIC_BASE_URL is used directly, no proxy socket needed", async () => {
    const s = setup({ idleTimeoutMs: 20 });
    const config = loadRunnerConfig({
      NGB_WORKSPACE_ROOT: root,
      NGB_AGENT_HOME: join(root, "home"),
      NGB_PROXY_SOCKET: join(root, "absent.sock"),
      NGB_ANTHROPIC_BASE_URL: "http://10.0.0.1:8080",
      NGB_PROXY_TOKEN: "tok",
    });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    expect(await runAgent({ ...s.deps, config, log: silentRunnerLog, query: echoQuery(seen) })).toBe(0);
    expect(seen.options?.env?.ANTHROPIC_BASE_URL).toBe("http://10.0.0.1:8080");
    expect(s.outputs()).toHaveLength(1);
  });

  test("a missing proxy socket is one error result that consumed nothing", async () => {
    const s = setup();
    const config = loadRunnerConfig({
      NGB_WORKSPACE_ROOT: root,
      NGB_AGENT_HOME: join(root, "home"),
      NGB_PROXY_SOCKET: join(root, "absent.sock"),
    });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    expect(await runAgent({ ...s.deps, config, log: silentRunnerLog, query: echoQuery(seen) })).toBe(1);
    expect(s.frames).toEqual([
      {
        type: "result",
        status: "error",
        result: null,
        consumed: [],
        error: `credential proxy socket missing at ${join(root, "absent.sock")}`,
      },
    ]);
    expect(seen.prompts).toEqual([]);
  });

  test("additional directories: extra mounts, and every group's folder for main only", () => {
    const paths = { extra: join(root, "extra"), groups: join(root, "groups") };
    expect(additionalDirectories(paths, true)).toEqual([]);
    mkdirSync(join(root, "extra", "notes"), { recursive: true });
    writeFileSync(join(root, "extra", "stray-file"), "");
    mkdirSync(join(root, "groups"));
    expect(additionalDirectories(paths, false)).toEqual([join(root, "extra", "notes")]);
    expect(additionalDirectories(paths, true)).toEqual([join(root, "groups"), join(root, "extra", "notes")]);
  });

  test("error results map to status error with the CLI's reasons and keep the consumed ids", () => {
    const out = resultToFrame(
      {
        type: "result",
        subtype: "error_max_turns",
        is_error: true,
        errors: ["too many turns"],
        session_id: SID,
        usage: { input_tokens: 1, output_tokens: 1 },
      } as unknown as SDKResultMessage,
      ["m4"],
    );
    expect(out).toMatchObject({
      type: "result",
      status: "error",
      result: null,
      consumed: ["m4"],
      error: "error_max_turns: too many turns",
      newSessionId: SID,
    });
    const apiErr = resultToFrame(result("API Error: 500", { is_error: true }) as SDKResultMessage, []);
    expect(apiErr).toMatchObject({ status: "error", error: "API Error: 500", consumed: [] });
  });
});
