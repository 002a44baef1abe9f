/**
 * The bundled agent runner as a local process (no container) with the real Claude Agent SDK,
 * talking through a unix-socket proxy stand-in to the fake Anthropic API, driven over stdio
 * with protocol v2 frames. Paths under /workspace are re-rooted to a temp dir with
 * NGB_WORKSPACE_ROOT.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as v from "valibot";
import { AgentFrame, type ContainerInput } from "../src/protocol/index.ts";
import {
  type FakeAnthropic,
  type FakeRequest,
  type FakeTurn,
  lastUserText,
  scripts,
  startFakeAnthropic,
  toolResults,
  toolResultText,
} from "./fakes/anthropic.ts";
import { hostStdin, localRunnerEnv, watchAgent } from "./support/agent-process.ts";
import { type SocketProxy, startSocketProxy } from "./support/socket-proxy.ts";
import { until } from "./support/wait.ts";

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

/** Prompts starting with "hold" are answered only once the test opens the gate. */
let gate = Promise.withResolvers<void>();
const held = (): FakeTurn | Promise<FakeTurn> => gate.promise.then(() => ({ text: "held answer" }));

/** Calls an ngb tool, then answers with the tool result's text (and whether it was an error). */
const toolThenEcho =
  (name: string, input: Record<string, unknown>) =>
  (req: FakeRequest): FakeTurn => {
    const results = toolResults(req);
    if (results.length === 0) return { toolUses: [{ name: `mcp__ngb__${name}`, input }] };
    const r = results[0];
    return { text: `${r?.is_error ? "tool error" : "tool said"}: ${r ? toolResultText(r) : ""}` };
  };

beforeAll(async () => {
  if (!sdkInstalled) return;
  const { bundleRunner } = await import("../src/image/index.ts");
  bundle = await bundleRunner(RUNNER_DIR);
  root = mkdtempSync(join(tmpdir(), "ngb-runner-"));
  fake = startFakeAnthropic({
    script: scripts.byPrompt([
      { when: /^hold/, script: held },
      { when: "please notify", script: toolThenEcho("send_message", { text: "working on it" }) },
      {
        when: "remind me",
        script: toolThenEcho("schedule_task", {
          prompt: "stretch",
          schedule_type: "cron",
          schedule_value: "0 9 * * *",
          context_mode: "isolated",
        }),
      },
      { when: "which groups", script: toolThenEcho("list_groups", {}) },
    ]),
  });
  proxy = startSocketProxy({ socketPath: join(root, "proxy.sock"), upstream: fake.url, token: TOKEN });
});

afterAll(async () => {
  if (!sdkInstalled) return;
  gate.resolve();
  await proxy.stop();
  await fake.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Starts the bundled runner and sends its `start` frame; stdin stays open (its end = host gone). */
function startRunner(
  input: Partial<ContainerInput> & { prompt: string },
  ws: string,
  env: Record<string, string> = {},
) {
  const proc = Bun.spawn([process.execPath, bundle], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    env: localRunnerEnv(ws, { socketPath: proxy.socketPath, token: TOKEN }, env),
  });
  const full: ContainerInput = {
    inputId: "start-1",
    groupFolder: "main",
    chatJid: "web:main",
    isMain: true,
    assistantName: "Andy",
    idleTimeoutMs: 60_000,
    ...input,
  };
  const host = hostStdin(proc.stdin);
  host.send({ type: "start", input: full });
  return {
    ws,
    proc,
    host,
    agent: watchAgent({ stdout: proc.stdout, stderr: proc.stderr, exited: proc.exited }),
  };
}

const newWorkspace = (name: string) => {
  const ws = join(root, name);
  mkdirSync(ws, { recursive: true });
  return ws;
};

/** Resolves once the fake model has received a request whose last user text is `text`. */
async function modelSaw(text: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fake.requests.some((r) => lastUserText(r.body) === text)) {
    if (Date.now() > deadline) throw new Error(`the model never saw ${JSON.stringify(text)}`);
    await Bun.sleep(10);
  }
}

const userTexts = () => fake.requests.map((r) => lastUserText(r.body));
const allValid = (frames: unknown[]) => frames.every((f) => v.is(AgentFrame, f));

describe.skipIf(!sdkInstalled)("agent runner (local process, real SDK, fake model)", () => {
  test("a prompt's reply is a result frame consuming the start input; the idle timeout ends the run", async () => {
    const { agent } = startRunner({ prompt: "hello there", idleTimeoutMs: 300 }, newWorkspace("plain"));
    const out = await agent.waitFor(1);
    expect(out).toMatchObject({ type: "result", status: "success", result: "echo: hello there" });
    expect(out.consumed).toEqual(["start-1"]);
    expect(out.newSessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.usage?.inputTokens).toBeGreaterThan(0);
    expect(out.usage?.outputTokens).toBeGreaterThan(0);
    expect(await agent.exited).toBe(0);
    expect(agent.outputs).toHaveLength(1);
    expect(agent.frames.some((f) => f.type === "activity" && f.kind === "model")).toBe(true);
    expect(allValid(agent.frames)).toBe(true);
    expect(agent.stray).toEqual([]);
    // Every model call went through the socket proxy with the container token.
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(proxy.refused).toBe(0);
    expect(proxy.seen.every((s) => s.token === TOKEN)).toBe(true);
  }, 30_000);

  test("a follow-up sent while the first turn runs is answered in its own turn (issue 9)", async () => {
    gate = Promise.withResolvers<void>();
    const { agent, host } = startRunner({ prompt: "hold the first", thread: "t1" }, newWorkspace("overlap"));
    await modelSaw("hold the first");
    host.send({ type: "input", id: "f-1", text: "the second question", thread: "t1" });
    await Bun.sleep(300); // time enough for the runner to (wrongly) hand it to the SDK
    expect(userTexts()).not.toContain("the second question");
    gate.resolve();
    const first = await agent.waitFor(1);
    const second = await agent.waitFor(2);
    expect(first).toMatchObject({ status: "success", result: "held answer", consumed: ["start-1"] });
    expect(second).toMatchObject({
      status: "success",
      result: "echo: the second question",
      consumed: ["f-1"],
    });
    expect(second.newSessionId).toBe(first.newSessionId as string);
    host.send({ type: "close" });
    expect(await agent.exited).toBe(0);
    expect(agent.outputs).toHaveLength(2);
    expect(allValid(agent.frames)).toBe(true);
  }, 30_000);

  test("follow-ups queued during a turn: one turn per run of the same thread, never across threads", async () => {
    gate = Promise.withResolvers<void>();
    const { agent, host } = startRunner({ prompt: "hold on", thread: "t1" }, newWorkspace("queued"));
    await modelSaw("hold on");
    host.send({ type: "input", id: "a-1", text: "apples", thread: "t1" });
    host.send({ type: "input", id: "a-2", text: "pears", thread: "t1" });
    host.send({ type: "input", id: "b-1", text: "in topic two", thread: "t2" });
    await Bun.sleep(200);
    gate.resolve();
    await agent.waitFor(3);
    expect(agent.outputs.map((o) => o.consumed)).toEqual([["start-1"], ["a-1", "a-2"], ["b-1"]]);
    expect(agent.outputs.map((o) => o.result)).toEqual([
      "held answer",
      "echo: apples\n\npears",
      "echo: in topic two",
    ]);
    host.send({ type: "close" });
    expect(await agent.exited).toBe(0);
    expect(agent.outputs).toHaveLength(3);
  }, 30_000);

  test("an MCP tool call is a request frame; the tool result is the host's reply, a refusal an error", async () => {
    const { agent, host } = startRunner(
      { prompt: "please notify the chat", thread: "t1" },
      newWorkspace("tools"),
    );
    const req = await agent.waitForRequest(1);
    expect(v.is(AgentFrame, req)).toBe(true);
    expect(req).toEqual({
      type: "request",
      reqId: expect.any(String),
      turn: ["start-1"],
      request: { type: "message", chatJid: "web:main", text: "working on it" },
    });
    host.send({ type: "reply", reqId: req.reqId, ok: true, text: "Delivered to web:main." });
    const first = await agent.waitFor(1);
    expect(first).toMatchObject({ result: "tool said: Delivered to web:main.", consumed: ["start-1"] });

    host.send({ type: "input", id: "f-2", text: "remind me to stretch", thread: "t1" });
    const req2 = await agent.waitForRequest(2);
    expect(req2.turn).toEqual(["f-2"]);
    expect(req2.request).toEqual({
      type: "schedule_task",
      prompt: "stretch",
      scheduleType: "cron",
      scheduleValue: "0 9 * * *",
      contextMode: "isolated",
    });
    // A reply for no waiting request and garbage lines are skipped, not fatal.
    host.send({ type: "reply", reqId: "nobody", ok: true, text: "stray" });
    host.raw("{not json\n");
    host.send({ type: "reply", reqId: req2.reqId, ok: false, text: "Refused: 3 tasks is the limit." });
    const second = await agent.waitFor(2);
    expect(second).toMatchObject({ result: "tool error: Refused: 3 tasks is the limit.", consumed: ["f-2"] });
    expect(agent.frames.some((f) => f.type === "activity" && f.name === "mcp__ngb__schedule_task")).toBe(
      true,
    );

    host.send({ type: "input", id: "f-3", text: "which groups are there?" });
    const req3 = await agent.waitForRequest(3);
    expect(req3.request).toEqual({ type: "list_groups" });
    host.send({ type: "reply", reqId: req3.reqId, ok: true, text: '{"groups":[{"folder":"main"}]}' });
    expect((await agent.waitFor(3)).result).toBe('tool said: {"groups":[{"folder":"main"}]}');

    host.send({ type: "close" });
    expect(await agent.exited).toBe(0);
    expect(agent.stderr.join("")).toContain("stdin line skipped");
    expect(allValid(agent.frames)).toBe(true);
    expect(agent.stray).toEqual([]);
  }, 40_000);

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

  test("a scheduled task is marked as such; non-main groups get no register_group or list_groups", async () => {
    const { agent } = startRunner(
      {
        prompt: "daily summary",
        isScheduledTask: true,
        isMain: false,
        groupFolder: "family",
        chatJid: "tg:42",
        idleTimeoutMs: 200,
      },
      newWorkspace("other"),
    );
    const out = await agent.waitFor(1);
    expect(out.result).toContain("[SCHEDULED TASK");
    expect(out.result).toContain("daily summary");
    const tools = (fake.requests.at(-1)?.body.tools ?? []).map((t) => t.name);
    expect(tools).toContain("mcp__ngb__send_message");
    expect(tools).toContain("mcp__ngb__list_tasks");
    expect(tools).not.toContain("mcp__ngb__register_group");
    expect(tools).not.toContain("mcp__ngb__list_groups");
    expect(tools).not.toContain("CronCreate");
    expect(await agent.exited).toBe(0);
  }, 30_000);

  test("bad start: a missing or wrong first frame, or a missing proxy socket, is one error result and exit 1", async () => {
    const spawnBare = () =>
      Bun.spawn([process.execPath, bundle], {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
        env: { PATH: "/usr/bin:/bin" },
      });
    const cases: [string, (h: ReturnType<typeof hostStdin>) => void, RegExp][] = [
      ["no frame", (h) => h.end(), /stdin ended before the start frame/],
      ["close first", (h) => h.send({ type: "close" }), /first frame must be "start", got "close"/],
      [
        "bad input",
        (h) => h.raw(`${JSON.stringify({ type: "start", input: { prompt: 42 } })}\n`),
        /input.prompt/,
      ],
    ];
    for (const [name, act, error] of cases) {
      const proc = spawnBare();
      act(hostStdin(proc.stdin));
      const agent = watchAgent({ stdout: proc.stdout, stderr: proc.stderr, exited: proc.exited });
      expect(await agent.exited, name).toBe(1);
      expect(agent.outputs, name).toHaveLength(1);
      expect(agent.outputs[0], name).toMatchObject({ type: "result", status: "error", consumed: [] });
      expect(agent.outputs[0]?.error, name).toMatch(error);
    }

    const ws = newWorkspace("noproxy");
    const { agent } = startRunner({ prompt: "hi" }, ws, { NGB_PROXY_SOCKET: join(ws, "missing.sock") });
    expect(await agent.exited).toBe(1);
    expect(agent.outputs).toHaveLength(1);
    expect(agent.outputs[0]).toMatchObject({
      consumed: [],
      error: expect.stringContaining("proxy socket missing"),
    });
    expect(agent.stray).toEqual([]);
  }, 30_000);

  const inWorkspace = (ws: string) =>
    readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readlinkSync(`/proc/${p}/cwd`).startsWith(ws);
        } catch {
          return false;
        }
      });
  async function noneLeft(ws: string) {
    await until(() => inWorkspace(ws).length === 0, {
      what: "no process left in the workspace",
      timeoutMs: 5000,
    }).catch(() => {});
    expect(inWorkspace(ws)).toEqual([]);
  }

  test("SIGTERM ends the session promptly and leaves no claude process behind", async () => {
    const ws = newWorkspace("sigterm");
    const { agent, proc } = startRunner({ prompt: "hi" }, ws);
    await agent.waitFor(1);
    expect(inWorkspace(ws).length).toBeGreaterThan(0); // the claude CLI, working in the group folder
    proc.kill("SIGTERM");
    await agent.exited;
    expect(agent.outputs).toHaveLength(1);
    expect(agent.stray).toEqual([]);
    await noneLeft(ws);
  }, 30_000);

  test("the end of stdin mid-turn (the host is gone) ends the run promptly, the turn unanswered", async () => {
    gate = Promise.withResolvers<void>();
    const ws = newWorkspace("eof");
    const { agent, host } = startRunner({ prompt: "hold forever" }, ws);
    await modelSaw("hold forever");
    const t0 = Date.now();
    host.end();
    await agent.exited;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(agent.outputs).toEqual([]);
    expect(agent.stderr.join("")).toContain("the host is gone");
    await noneLeft(ws);
    gate.resolve();
  }, 30_000);

  test("a model API error becomes an error result for the input, not silence", async () => {
    fake.setScript(() => ({
      error: { status: 400, type: "invalid_request_error", message: "messages: bad shape" },
    }));
    try {
      const { agent } = startRunner({ prompt: "anything", idleTimeoutMs: 200 }, newWorkspace("apierror"));
      const out = await agent.waitFor(1);
      expect(out.status).toBe("error");
      expect(out.consumed).toEqual(["start-1"]);
      expect(out.error).toMatch(/bad shape|400/);
      await agent.exited;
    } finally {
      fake.setScript(scripts.echo());
    }
  }, 30_000);
});
