/**
 * Scheduled tasks end to end, on real timers: task service → scheduler → orchestrator's
 * dispatchTask → group queue → agent runner → delivery → the chat. First with the in-process
 * fake runner (always), then through the real agent image in a container talking to the fake
 * model via the credential proxy (skipped without an engine or the ngb-agent image).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { Config } from "../../src/config/index.ts";
import type { AgentRunner } from "../../src/container/types.ts";
import { createEventBus } from "../../src/events/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createIpcHandler } from "../../src/ipc/index.ts";
import { createOrchestrator, type Orchestrator } from "../../src/orchestrator/index.ts";
import { createGroupQueue } from "../../src/queue/index.ts";
import { createScheduler, createTaskService, type Scheduler } from "../../src/scheduler/index.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { createFakeRunner } from "../fakes/agent-runner.ts";
import { createMemoryChannel, type MemoryChannel } from "../fakes/memory-channel.ts";
import { agentImageAvailable } from "../support/engine.ts";
import type { ServeHandle } from "../support/ngb.ts";
import { until } from "../support/wait.ts";
import { chooseBinary, openWebChat, serveEnv, startServe, type WebChat } from "./serve-rig.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Rig {
  store: Store;
  channel: MemoryChannel;
  scheduler: Scheduler;
  service: ReturnType<typeof createTaskService>;
  orchestrator: Orchestrator;
}

async function rig(dir: string, config: Config, runner: AgentRunner): Promise<Rig> {
  const log = silentLogger();
  const store = openStore(join(dir, "ngb.db"));
  cleanups.push(() => store.close());
  const events = createEventBus();
  const queue = createGroupQueue({ maxConcurrent: 2, maxRetries: 0, retryBaseMs: 5, log, events });
  const channel = createMemoryChannel();
  store.groups.add({
    jid: "mem:team",
    name: "team",
    folder: "team",
    triggerPattern: null,
    requiresTrigger: true,
    isMain: false,
    containerConfig: null,
  });
  const service = createTaskService({ store, events, defaultTimezone: "UTC" });
  const orchestrator = createOrchestrator({
    config,
    store,
    events,
    queue,
    runner,
    channels: [channel],
    log,
    handleRequest: createIpcHandler({
      store,
      events,
      log,
      deliver: (req) => orchestrator.deliver(req),
      tasks: service,
      registerGroup: () => {
        throw new Error("not in this test");
      },
    }),
  });
  cleanups.push(() => orchestrator.stop());
  const scheduler = createScheduler({
    store,
    events,
    log,
    dispatch: (task, scheduledFor) => orchestrator.dispatchTask(task, scheduledFor),
  });
  cleanups.push(() => scheduler.stop());
  await orchestrator.start();
  scheduler.start();
  return { store, channel, scheduler, service, orchestrator };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ngb-sched-e2e-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const configFor = (dir: string, extra: Record<string, unknown> = {}) =>
  v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
    retryBaseMs: 5,
    ...extra,
  });

test("a task scheduled 2 s ahead runs on time through the queue and its result reaches the chat", async () => {
  const dir = tempDir();
  const runner = createFakeRunner({
    respond: (t) => [{ status: "success", result: `task says: ${t.input.prompt}`, newSessionId: "s-task" }],
  });
  const r = await rig(dir, configFor(dir), runner);
  const task = r.service.create(
    { groupFolder: "team", prompt: "good morning digest", scheduleType: "once", scheduleValue: "in 2s" },
    { kind: "cli" },
  );
  const sent = await r.channel.waitForSent(1, 10_000);
  expect(sent[0]).toEqual({ jid: "mem:team", text: "task says: good morning digest" });
  expect(runner.starts).toHaveLength(1);
  expect(runner.starts[0]!.input).toMatchObject({
    isScheduledTask: true,
    taskId: task.id,
    chatJid: "mem:team",
  });
  await r.scheduler.idle();
  const after = r.store.tasks.get(task.id)!;
  expect(after).toMatchObject({
    status: "completed",
    lastResult: "task says: good morning digest",
    lastError: null,
  });
  const runs = r.store.tasks.runs(task.id);
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({ status: "success", scheduledFor: task.nextRun });
  // Claimed at (not before) the due time.
  expect(runs[0]!.startedAt).toBeGreaterThanOrEqual(task.nextRun!);
});

const HAS_IMAGE = await agentImageAvailable();

describe.skipIf(!HAS_IMAGE)("through the real agent image and the fake model", () => {
  test("a task scheduled a few seconds ahead: container runs it, the model's answer reaches the chat", async () => {
    const dir = tempDir();
    const { startFakeAnthropic, lastUserText } = await import("../fakes/anthropic.ts");
    const { createCredentialProxy } = await import("../../src/proxy/index.ts");
    const { createDockerRunner } = await import("../../src/container/index.ts");
    const fake = startFakeAnthropic({
      script: (req) => ({
        text: `model says: ${lastUserText(req)}`,
        usage: { inputTokens: 5, outputTokens: 3 },
      }),
    });
    cleanups.push(() => fake.stop());
    const config = configFor(dir, {
      anthropic: { apiKey: "sk-test-real-key", baseUrl: fake.url },
      container: { image: "ngb-agent:latest" },
    });
    const proxyStore = openStore(join(dir, "proxy.db"));
    cleanups.push(() => proxyStore.close());
    const proxy = createCredentialProxy({
      config,
      store: proxyStore,
      log: silentLogger(),
      socketPath: join(dir, "data", "proxy", "proxy.sock"),
    });
    cleanups.push(() => proxy.stop());
    const runner = createDockerRunner({
      config,
      log: silentLogger(),
      paths: { groupsDir: config.groupsDir, dataDir: config.dataDir },
      proxy,
      instanceId: "sched-e2e",
      closeGraceMs: 5_000,
    });
    cleanups.push(() => runner.stopAll());
    const r = await rig(dir, config, runner);
    const task = r.service.create(
      {
        groupFolder: "team",
        prompt: "summarize the overnight alerts",
        scheduleType: "once",
        scheduleValue: "in 3s",
      },
      { kind: "cli" },
    );
    const sent = await r.channel.waitForSent(1, 90_000);
    expect(sent[0]!.jid).toBe("mem:team");
    expect(sent[0]!.text).toContain("model says:");
    expect(sent[0]!.text).toContain("summarize the overnight alerts");
    await r.scheduler.idle();
    expect(r.store.tasks.get(task.id)).toMatchObject({ status: "completed", lastError: null });
    expect(r.store.tasks.runs(task.id)[0]).toMatchObject({ status: "success" });
    // The real key went to the model; the container held only its proxy token.
    expect(fake.requests[0]!.headers["x-api-key"]).toBe("sk-test-real-key");
  }, 120_000);
});

describe.skipIf(!HAS_IMAGE)("ngb serve: an agent schedules a task with its MCP tool, and it runs", () => {
  let serve: ServeHandle | undefined;
  let chat: WebChat | undefined;
  afterEach(async () => {
    chat?.close();
    await serve?.stop();
  });

  test("schedule_task 'in 3s' → the scheduler runs it in a container → its answer reaches the webchat", async () => {
    const dir = tempDir();
    const { startFakeAnthropic, scripts } = await import("../fakes/anthropic.ts");
    const fake = startFakeAnthropic({
      script: scripts.byPrompt(
        [
          {
            when: "remind me in a few seconds",
            script: scripts.scheduleTaskThenText(
              { prompt: "stretch reminder", schedule_type: "once", schedule_value: "in 3s" },
              "ok, scheduled",
            ),
          },
          { when: "stretch reminder", script: scripts.text("time to stretch!") },
        ],
        scripts.text("fallback"),
      ),
    });
    cleanups.push(() => fake.stop());
    process.stderr.write(`[e2e scheduler] ngb: ${chooseBinary()}\n`);
    serve = await startServe({ cwd: dir, env: serveEnv(dir, fake), timeoutMs: 30_000 });
    chat = await openWebChat(serve);
    await chat.post("remind me in a few seconds");
    await chat.reply("ok, scheduled");
    const reply = await chat.reply("time to stretch!").catch((err) => {
      throw new Error(`${err.message}\nserve log tail:\n${serve?.logs().slice(-4000)}`);
    });
    expect(reply.from).toBe("assistant");
    const store = openStore(join(dir, "store", "ngb.db"), { readonly: true });
    try {
      const task = await until(
        () => store.tasks.list().find((t) => t.prompt === "stretch reminder" && t.status === "completed"),
        { what: "the task completed in the store", timeoutMs: 10_000 },
      );
      expect(task).toMatchObject({ groupFolder: "main", chatJid: "web:default", createdBy: "group:main" });
      expect(store.tasks.runs(task.id).map((r) => r.status)).toEqual(["success"]);
    } finally {
      store.close();
    }
  }, 150_000);
});
