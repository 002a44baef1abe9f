import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Options, SDKMessage, SDKResultMessage, SDKUserMessage } from "@anthropic-ai/claude-agent-sdk";
import type { ContainerInput, ContainerOutput } from "../../../src/protocol/index.ts";
import { loadRunnerConfig } from "./config.ts";
import { silentRunnerLog } from "./io.ts";
import {
  additionalDirectories,
  type QueryFn,
  resultToOutput,
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

/** A stand-in for the SDK: answers each streamed user message with one result. */
function echoQuery(seen: { prompts: string[]; options?: Options }): QueryFn {
  return ({ prompt, options }) => {
    seen.options = options;
    return (async function* () {
      for await (const m of prompt as AsyncIterable<SDKUserMessage>) {
        const text = String(m.message.content);
        seen.prompts.push(text);
        if (text === "explode") throw new Error("CLI crashed");
        yield result(text ? `re: ${text}` : "");
      }
    })();
  };
}

function setup(input: Partial<ContainerInput> = {}) {
  const config = loadRunnerConfig({
    NGB_WORKSPACE_ROOT: root,
    NGB_AGENT_HOME: join(root, "home"),
    NGB_PROXY_SOCKET: join(root, "proxy.sock"),
    NGB_PROXY_TOKEN: "tok",
    NGB_INPUT_RESCAN_MS: "20",
  });
  const outputs: ContainerOutput[] = [];
  const full: ContainerInput = {
    prompt: "start",
    groupFolder: "main",
    chatJid: "web:1",
    isMain: true,
    assistantName: "Andy",
    idleTimeoutMs: 30_000,
    ...input,
  };
  return { config, outputs, input: full, write: (o: ContainerOutput) => void outputs.push(o) };
}

const dropFile = (dir: string, name: string, body: string) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `.${name}`), body);
  renameSync(join(dir, `.${name}`), join(dir, name));
};

async function until(fn: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("runAgent loop", () => {
  test("one output per result; follow-ups feed the same query; _close ends it", async () => {
    const s = setup();
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    const done = runAgent({ ...s, log: silentRunnerLog, query: echoQuery(seen) });
    await until(() => s.outputs.length === 1);
    dropFile(s.config.paths.ipcInput, "0001.json", JSON.stringify({ type: "message", text: "again" }));
    await until(() => s.outputs.length === 2);
    writeFileSync(join(s.config.paths.ipcInput, "_close"), "");
    expect(await done).toBe(0);
    expect(seen.prompts).toEqual(["start", "again"]);
    expect(s.outputs).toEqual([
      {
        status: "success",
        result: "re: start",
        newSessionId: SID,
        usage: { inputTokens: 10, outputTokens: 2, cacheReadTokens: 3, cacheWriteTokens: 0 },
      },
      {
        status: "success",
        result: "re: again",
        newSessionId: SID,
        usage: { inputTokens: 10, outputTokens: 2, cacheReadTokens: 3, cacheWriteTokens: 0 },
      },
    ]);
    const o = seen.options as Options;
    expect(o.cwd).toBe(join(root, "group"));
    expect(o.permissionMode).toBe("dontAsk");
    expect(o.allowedTools).toContain("mcp__ngb__*");
    expect(o.env?.ANTHROPIC_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(o.env?.ANTHROPIC_API_KEY).toBe("tok");
    expect(Object.keys(o.mcpServers ?? {})).toEqual(["ngb"]);
  });

  test("global CLAUDE.md is appended; scheduled prompts are marked; a lost session is not resumed", async () => {
    mkdirSync(join(root, "global"), { recursive: true });
    writeFileSync(join(root, "global", "CLAUDE.md"), "Always answer in French.");
    const s = setup({ isScheduledTask: true, sessionId: SID, idleTimeoutMs: 50, model: "claude-x" });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    expect(await runAgent({ ...s, log: silentRunnerLog, query: echoQuery(seen) })).toBe(0);
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
    await runAgent({ ...again, log: silentRunnerLog, query: echoQuery(seen2) });
    expect(seen2.options?.resume).toBe(SID);
  });

  test("a crash of the CLI becomes one error output and exit 1; an empty result is null", async () => {
    const s = setup({ prompt: "", idleTimeoutMs: 5000 });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    const done = runAgent({ ...s, log: silentRunnerLog, query: echoQuery(seen) });
    await until(() => s.outputs.length === 1);
    expect(s.outputs[0]?.result).toBeNull();
    dropFile(s.config.paths.ipcInput, "1.json", JSON.stringify({ type: "message", text: "explode" }));
    expect(await done).toBe(1);
    expect(s.outputs[1]).toEqual({ status: "error", result: null, error: "CLI crashed" });
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
    expect(await runAgent({ ...s, config, log: silentRunnerLog, query: echoQuery(seen) })).toBe(0);
    expect(seen.options?.env?.ANTHROPIC_BASE_URL).toBe("http://10.0.0.1:8080");
    expect(s.outputs).toHaveLength(1);
  });

  test("a missing proxy socket is one error output", async () => {
    const s = setup();
    const config = loadRunnerConfig({
      NGB_WORKSPACE_ROOT: root,
      NGB_AGENT_HOME: join(root, "home"),
      NGB_PROXY_SOCKET: join(root, "absent.sock"),
    });
    const seen: { prompts: string[]; options?: Options } = { prompts: [] };
    expect(await runAgent({ ...s, config, log: silentRunnerLog, query: echoQuery(seen) })).toBe(1);
    expect(s.outputs).toEqual([
      {
        status: "error",
        result: null,
        error: `credential proxy socket missing at ${join(root, "absent.sock")}`,
      },
    ]);
    expect(seen.prompts).toEqual([]);
  });

  test("additional directories: extra mounts, and the project for main only", () => {
    const paths = { extra: join(root, "extra"), project: join(root, "project") };
    expect(additionalDirectories(paths, true)).toEqual([]);
    mkdirSync(join(root, "extra", "notes"), { recursive: true });
    writeFileSync(join(root, "extra", "stray-file"), "");
    mkdirSync(join(root, "project"));
    expect(additionalDirectories(paths, false)).toEqual([join(root, "extra", "notes")]);
    expect(additionalDirectories(paths, true)).toEqual([join(root, "project"), join(root, "extra", "notes")]);
  });

  test("error results map to status error with the CLI's reasons", () => {
    const out = resultToOutput({
      type: "result",
      subtype: "error_max_turns",
      is_error: true,
      errors: ["too many turns"],
      session_id: SID,
      usage: { input_tokens: 1, output_tokens: 1 },
    } as unknown as SDKResultMessage);
    expect(out).toMatchObject({
      status: "error",
      result: null,
      error: "error_max_turns: too many turns",
      newSessionId: SID,
    });
    const apiErr = resultToOutput(result("API Error: 500", { is_error: true }) as SDKResultMessage);
    expect(apiErr).toMatchObject({ status: "error", error: "API Error: 500" });
  });
});
