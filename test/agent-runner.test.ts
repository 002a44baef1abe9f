/**
 * The bundled agent runner as a local process (no container) with the real Claude Agent SDK,
 * talking through a unix-socket proxy stand-in to the fake Anthropic API. Paths under
 * /workspace are re-rooted to a temp dir with NGB_WORKSPACE_ROOT.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as v from "valibot";
import { CLOSE_SENTINEL, type ContainerInput, IpcRequest } from "../src/protocol/index.ts";
import { type FakeAnthropic, lastUserText, scripts, startFakeAnthropic } from "./fakes/anthropic.ts";
import { localRunnerEnv, watchAgent } from "./support/agent-process.ts";
import { type SocketProxy, startSocketProxy } from "./support/socket-proxy.ts";

const RUNNER_DIR = resolve(import.meta.dir, "../container/agent-runner");
const SDK = join(RUNNER_DIR, "node_modules/@anthropic-ai/claude-agent-sdk/package.json");
const sdkInstalled = existsSync(SDK);
if (!sdkInstalled)
  process.stderr.write("[skip] agent-runner SDK not installed: run `npm ci` in container/agent-runner\n");

const TOKEN = "ngb-test-token";
let fake: FakeAnthropic;
let proxy: SocketProxy;
let root: string;
let bundle: string;

beforeAll(async () => {
  if (!sdkInstalled) return;
  const { bundleRunner } = await import("../src/image/index.ts");
  bundle = await bundleRunner(RUNNER_DIR);
  root = mkdtempSync(join(tmpdir(), "ngb-runner-"));
  fake = startFakeAnthropic({
    script: scripts.byPrompt([
      { when: "please notify", script: scripts.sendMessageThenText("working on it", "done notifying") },
      {
        when: "remind me",
        script: scripts.scheduleTaskThenText(
          { prompt: "stretch", schedule_type: "cron", schedule_value: "0 9 * * *", context_mode: "isolated" },
          "reminder set",
        ),
      },
    ]),
  });
  proxy = startSocketProxy({ socketPath: join(root, "proxy.sock"), upstream: fake.url, token: TOKEN });
});

afterAll(async () => {
  if (!sdkInstalled) return;
  await proxy.stop();
  await fake.stop();
  rmSync(root, { recursive: true, force: true });
});

interface Started {
  ws: string;
  agent: ReturnType<typeof watchAgent>;
  proc: ReturnType<typeof Bun.spawn>;
}

/** Starts the bundled runner with `input` on stdin, in workspace `ws` (shared HOME per group). */
function startRunner(
  input: Partial<ContainerInput> & { prompt: string },
  ws: string,
  env: Record<string, string> = {},
): Started {
  mkdirSync(join(ws, "ipc", "input"), { recursive: true });
  const proc = Bun.spawn([process.execPath, bundle], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    env: localRunnerEnv(
      ws,
      { socketPath: proxy.socketPath, token: TOKEN },
      { NGB_INPUT_RESCAN_MS: "5000", ...env },
    ),
  });
  const full: ContainerInput = {
    groupFolder: "main",
    chatJid: "web:main",
    isMain: true,
    assistantName: "Andy",
    idleTimeoutMs: 60_000,
    ...input,
  };
  proc.stdin.write(JSON.stringify(full));
  proc.stdin.end();
  return { ws, proc, agent: watchAgent({ stdout: proc.stdout, stderr: proc.stderr, exited: proc.exited }) };
}

function writeAtomic(dir: string, name: string, body: string): void {
  writeFileSync(join(dir, `.${name}.tmp`), body);
  renameSync(join(dir, `.${name}.tmp`), join(dir, name));
}

function ipcFiles(ws: string, sub: "messages" | "tasks"): unknown[] {
  const dir = join(ws, "ipc", sub);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith(".json"))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(dir, n), "utf8")));
}

const newWorkspace = (name: string) => {
  const ws = join(root, name);
  mkdirSync(ws, { recursive: true });
  return ws;
};

describe.skipIf(!sdkInstalled)("agent runner (local process, real SDK, fake model)", () => {
  test("a prompt's reply comes out between the markers, then the idle timeout ends the run", async () => {
    const { agent } = startRunner({ prompt: "hello there", idleTimeoutMs: 300 }, newWorkspace("plain"));
    const out = await agent.waitFor(1);
    expect(out.status).toBe("success");
    expect(out.result).toBe("echo: hello there");
    expect(out.newSessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.usage?.inputTokens).toBeGreaterThan(0);
    expect(out.usage?.outputTokens).toBeGreaterThan(0);
    expect(await agent.exited).toBe(0);
    expect(agent.outputs).toHaveLength(1);
    expect(agent.stray).toEqual([]);
    // Every model call went through the socket proxy with the container token.
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(proxy.refused).toBe(0);
    expect(proxy.seen.every((s) => s.token === TOKEN)).toBe(true);
  }, 30_000);

  test("tool calls write valid IPC files; a follow-up is a second turn of the same session; _close ends it", async () => {
    const ws = newWorkspace("tools");
    const { agent } = startRunner({ prompt: "please notify the chat" }, ws);
    const first = await agent.waitFor(1);
    expect(first).toMatchObject({ status: "success", result: "done notifying" });

    const messages = ipcFiles(ws, "messages");
    expect(messages).toEqual([{ type: "message", chatJid: "web:main", text: "working on it" }]);
    expect(v.is(IpcRequest, messages[0])).toBe(true);
    // No temporary files left behind.
    expect(readdirSync(join(ws, "ipc", "messages")).filter((n) => !n.endsWith(".json"))).toEqual([]);

    const requestsBefore = fake.requests.length;
    writeAtomic(
      join(ws, "ipc", "input"),
      "0001.json",
      JSON.stringify({ type: "message", text: "remind me to stretch" }),
    );
    const second = await agent.waitFor(2);
    expect(second).toMatchObject({ status: "success", result: "reminder set" });
    expect(second.newSessionId).toBe(first.newSessionId as string);
    // The follow-up went into the same conversation: the model saw the earlier turn.
    const followUpReq = fake.requests[requestsBefore];
    expect(followUpReq && lastUserText(followUpReq.body)).toBe("remind me to stretch");
    expect(JSON.stringify(followUpReq?.body.messages)).toContain("please notify the chat");

    const tasks = ipcFiles(ws, "tasks");
    expect(tasks).toEqual([
      {
        type: "schedule_task",
        prompt: "stretch",
        scheduleType: "cron",
        scheduleValue: "0 9 * * *",
        contextMode: "isolated",
      },
    ]);
    expect(v.is(IpcRequest, tasks[0])).toBe(true);
    expect(readdirSync(join(ws, "ipc", "input"))).toEqual([]); // consumed and deleted

    writeFileSync(join(ws, "ipc", "input", CLOSE_SENTINEL), "");
    expect(await agent.exited).toBe(0);
    expect(agent.outputs).toHaveLength(2);
    expect(agent.stray).toEqual([]);
  }, 30_000);

  test("a new process resumes the session; a lost session starts fresh", async () => {
    const ws = newWorkspace("resume");
    const one = startRunner({ prompt: "remember the word kiwi", idleTimeoutMs: 200 }, ws);
    const first = await one.agent.waitFor(1);
    expect(await one.agent.exited).toBe(0);

    const two = startRunner(
      { prompt: "what was the word?", sessionId: first.newSessionId, idleTimeoutMs: 200 },
      ws,
    );
    const second = await two.agent.waitFor(1);
    expect(second.status).toBe("success");
    expect(second.newSessionId).toBe(first.newSessionId as string);
    expect(JSON.stringify(fake.requests.at(-1)?.body.messages)).toContain("remember the word kiwi");
    expect(await two.agent.exited).toBe(0);

    const lost = startRunner(
      { prompt: "fresh start", sessionId: "00000000-0000-4000-8000-000000000000", idleTimeoutMs: 200 },
      ws,
    );
    const third = await lost.agent.waitFor(1);
    expect(third).toMatchObject({ status: "success", result: "echo: fresh start" });
    expect(third.newSessionId).not.toBe("00000000-0000-4000-8000-000000000000");
    expect(await lost.agent.exited).toBe(0);
  }, 30_000);

  test("a scheduled task is marked as such; non-main groups get no register_group tool", async () => {
    const ws = newWorkspace("other");
    const { agent } = startRunner(
      {
        prompt: "daily summary",
        isScheduledTask: true,
        isMain: false,
        groupFolder: "family",
        chatJid: "tg:42",
        idleTimeoutMs: 200,
      },
      ws,
    );
    const out = await agent.waitFor(1);
    expect(out.result).toContain("[SCHEDULED TASK");
    expect(out.result).toContain("daily summary");
    const tools = (fake.requests.at(-1)?.body.tools ?? []).map((t) => t.name);
    expect(tools).toContain("mcp__ngb__send_message");
    expect(tools).toContain("mcp__ngb__schedule_task");
    expect(tools).not.toContain("mcp__ngb__register_group");
    expect(tools).not.toContain("CronCreate");
    expect(await agent.exited).toBe(0);
  }, 30_000);

  test("bad input: invalid stdin and a missing proxy socket each print one error record and exit 1", async () => {
    const bad = Bun.spawn([process.execPath, bundle], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    bad.stdin.write(JSON.stringify({ prompt: 42 }));
    bad.stdin.end();
    const badAgent = watchAgent({ stdout: bad.stdout, stderr: bad.stderr, exited: bad.exited });
    expect(await badAgent.exited).toBe(1);
    expect(badAgent.outputs).toHaveLength(1);
    expect(badAgent.outputs[0]?.status).toBe("error");
    expect(badAgent.outputs[0]?.error).toContain("prompt");

    const ws = newWorkspace("noproxy");
    const { agent } = startRunner({ prompt: "hi" }, ws, { NGB_PROXY_SOCKET: join(ws, "missing.sock") });
    expect(await agent.exited).toBe(1);
    expect(agent.outputs).toHaveLength(1);
    expect(agent.outputs[0]?.error).toContain("proxy socket missing");
    expect(agent.stray).toEqual([]);
  }, 30_000);

  test("SIGTERM ends the session promptly and leaves no claude process behind", async () => {
    const ws = newWorkspace("sigterm");
    const { agent, proc } = startRunner({ prompt: "hi" }, ws);
    await agent.waitFor(1);
    const inWorkspace = () =>
      readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readlinkSync(`/proc/${p}/cwd`).startsWith(ws);
          } catch {
            return false;
          }
        });
    expect(inWorkspace().length).toBeGreaterThan(0); // the claude CLI, working in the group folder
    proc.kill("SIGTERM");
    await agent.exited;
    expect(agent.outputs).toHaveLength(1);
    expect(agent.stray).toEqual([]);
    const deadline = Date.now() + 5000;
    while (inWorkspace().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(inWorkspace()).toEqual([]);
  }, 30_000);

  test("contract: the host's own output parser reads the runner's stdout, with nothing invalid or stray", async () => {
    const { createOutputParser } = await import("../src/container/index.ts");
    const garbage: string[] = [];
    const invalid: string[] = [];
    const parser = createOutputParser({
      onGarbage: (l) => garbage.push(l),
      onInvalid: (r) => invalid.push(r),
    });
    const ws = newWorkspace("contract");
    mkdirSync(join(ws, "ipc", "input"), { recursive: true });
    writeAtomic(join(ws, "ipc", "input"), "0001.json", JSON.stringify({ type: "message", text: "second" }));
    const proc = Bun.spawn([process.execPath, bundle], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "ignore",
      env: localRunnerEnv(ws, { socketPath: proxy.socketPath, token: TOKEN }),
    });
    proc.stdin.write(
      JSON.stringify({
        prompt: "first",
        groupFolder: "main",
        chatJid: "web:main",
        isMain: true,
        assistantName: "Andy",
        idleTimeoutMs: 200,
      }),
    );
    proc.stdin.end();
    const outputs = parser.push(new Uint8Array(await new Response(proc.stdout).arrayBuffer()));
    const tail = parser.end();
    expect(await proc.exited).toBe(0);
    expect(tail).toEqual({ outputs: [], unterminated: false });
    expect(garbage).toEqual([]);
    expect(invalid).toEqual([]);
    // A follow-up waiting at start may be answered in the same turn as the prompt.
    expect(outputs.length).toBeGreaterThanOrEqual(1);
    expect(outputs.every((o) => o.status === "success")).toBe(true);
    const text = outputs.map((o) => o.result).join("\n");
    expect(text).toContain("first");
    expect(text).toContain("second");
  }, 30_000);

  test("a model API error becomes an error record, not silence", async () => {
    fake.setScript(() => ({
      error: { status: 400, type: "invalid_request_error", message: "messages: bad shape" },
    }));
    try {
      const { agent } = startRunner({ prompt: "anything", idleTimeoutMs: 200 }, newWorkspace("apierror"));
      const out = await agent.waitFor(1);
      expect(out.status).toBe("error");
      expect(out.error).toMatch(/bad shape|400/);
      await agent.exited;
    } finally {
      fake.setScript(scripts.echo());
    }
  }, 30_000);
});
