/**
 * Orchestrator figures:
 * - message stored → agent input handed to the runner (cold start excluded: an in-process fake
 *   runner records when `start` is called), p50/p99 over ~2000 messages;
 * - follow-up into a warm agent: message stored → `sendFollowUp` called, p50/p99;
 * - one turn end to end through the real host (webchat POST → reply on the WebSocket) with the
 *   real docker runner, `ngb-agent` image and the fake model: cold container and warm container
 *   (only when an engine and the image are here).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { Config } from "../../src/config/index.ts";
import { createEventBus } from "../../src/events/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createOrchestrator } from "../../src/orchestrator/index.ts";
import { createGroupQueue } from "../../src/queue/index.ts";
import { openStore } from "../../src/store/index.ts";
import { createFakeRunner } from "../../test/fakes/agent-runner.ts";
import { scripts, startFakeAnthropic } from "../../test/fakes/anthropic.ts";
import { createMemoryChannel } from "../../test/fakes/memory-channel.ts";
import { agentImageAvailable } from "../../test/support/engine.ts";

const N = 2000;

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (n: number) =>
  n < 1 ? `${(n * 1000).toFixed(0)} µs` : `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`;
const summary = (xs: number[]) => `p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))} (n=${xs.length})`;

async function hostLatency(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-orch-"));
  const config = v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
    maxConcurrentContainers: 8,
  });
  const store = openStore(join(dir, "store", "ngb.db"));
  const events = createEventBus();
  const log = silentLogger();
  const runner = createFakeRunner();
  const channel = createMemoryChannel();
  const queue = createGroupQueue({ maxConcurrent: 8, maxRetries: 0, retryBaseMs: 10, events, log });
  // "Stored" is the moment the store's insert is announced (listener registered before the
  // orchestrator's, so it runs first).
  let storedAt = 0;
  events.on("message.stored", () => {
    storedAt = performance.now();
  });
  const orch = createOrchestrator({ config, store, events, queue, runner, channels: [channel], log });
  const base = { triggerPattern: null, requiresTrigger: false, isMain: false, containerConfig: null };
  store.groups.add({ ...base, jid: "mem:cold", name: "cold", folder: "cold" });
  store.groups.add({ ...base, jid: "mem:warm", name: "warm", folder: "warm" });
  await orch.start();
  const sink = channel.sink();
  let id = 0;
  const msg = (chatJid: string, content: string) => ({
    id: `b${++id}`,
    chatJid,
    sender: "u",
    senderName: "User",
    content,
    timestamp: Date.now(),
  });
  try {
    // Cold path: every message starts a run (the fake closes right after answering).
    runner.setRespond((t) => {
      const alive = runner.alive().find((p) => p.name === t.name);
      alive?.close();
      return [{ status: "success", result: "ok" }];
    });
    const cold: number[] = [];
    for (let i = 0; i < N; i++) {
      const sentBefore = channel.sent.length;
      const startsBefore = runner.starts.length;
      await sink.inbound(msg("mem:cold", `message ${i}`));
      while (runner.starts.length === startsBefore) await new Promise((r) => setImmediate(r));
      cold.push(runner.starts[startsBefore]!.at - storedAt);
      await channel.waitForSent(sentBefore + 1);
      while (runner.alive().length > 0 || queue.isActive("mem:cold"))
        await new Promise((r) => setImmediate(r));
    }

    // Warm path: one agent stays up; every message is a follow-up.
    runner.setRespond(() => [{ status: "success", result: "ok" }]);
    const startsBefore = runner.starts.length;
    let sentBefore = channel.sent.length;
    await sink.inbound(msg("mem:warm", "wake up"));
    await channel.waitForSent(sentBefore + 1);
    const warm: number[] = [];
    for (let i = 0; i < N; i++) {
      sentBefore = channel.sent.length;
      const fBefore = runner.followUps.length;
      await sink.inbound(msg("mem:warm", `follow-up ${i}`));
      while (runner.followUps.length === fBefore) await new Promise((r) => setImmediate(r));
      warm.push(runner.followUps[fBefore]!.at - storedAt);
      await channel.waitForSent(sentBefore + 1);
    }
    if (runner.starts.length !== startsBefore + 1) throw new Error("warm path started extra agents");
    return {
      "orchestrator: stored → agent input (cold start excluded)": summary(cold),
      "orchestrator: stored → follow-up into warm agent": summary(warm),
    };
  } finally {
    await orch.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function endToEnd(): Promise<Record<string, string>> {
  if (!(await agentImageAvailable()))
    return { "orchestrator: end-to-end turn": "skipped (no engine / ngb-agent image)" };
  const { startRuntime } = await import("../../src/runtime/index.ts");
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-e2e-"));
  const fake = startFakeAnthropic({ script: scripts.text("pong") });
  const token = "bench-token-0123456789abcdef";
  const config = v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
    web: { port: 0, token },
    anthropic: { apiKey: "sk-bench", baseUrl: fake.url },
  });
  const rt = await startRuntime({ config, log: silentLogger() });
  const auth = { authorization: `Bearer ${token}` };
  const cold: number[] = [];
  const warm: number[] = [];
  try {
    const store = openStore(join(dir, "store", "ngb.db"));
    for (let i = 0; i < 3; i++)
      store.groups.add({
        jid: `web:cold${i}`,
        name: `cold${i}`,
        folder: `cold${i}`,
        triggerPattern: null,
        requiresTrigger: false,
        isMain: false,
        containerConfig: null,
      });
    store.close();
    const turn = async (chatId: string) => {
      const ws = new WebSocket(`${rt.url.replace("http", "ws")}/api/webchat/ws?chatId=${chatId}`, {
        headers: auth,
      } as unknown as string[]);
      const got: { type: string; from?: string }[] = [];
      let wake: () => void = () => {};
      ws.onmessage = (e) => {
        got.push(JSON.parse(String(e.data)));
        wake();
      };
      const waitFor = (pred: () => boolean, what: string) =>
        new Promise<void>((res, rej) => {
          const t = setTimeout(() => rej(new Error(`bench: no ${what} in 120 s`)), 120_000);
          wake = () => {
            if (pred()) {
              clearTimeout(t);
              res();
            }
          };
          wake();
        });
      await waitFor(() => got.some((e) => e.type === "ready"), "ws ready");
      const t0 = performance.now();
      await fetch(`${rt.url}/api/webchat/messages`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ chatId, text: "ping" }),
      });
      await waitFor(() => got.some((e) => e.type === "message" && e.from === "assistant"), "reply");
      ws.close();
      return performance.now() - t0;
    };
    for (let i = 0; i < 3; i++) cold.push(await turn(`cold${i}`));
    for (let i = 0; i < 10; i++) warm.push(await turn("cold0"));
  } finally {
    await rt.stop();
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    "orchestrator: end-to-end turn, cold container (docker, fake model)": summary(cold),
    "orchestrator: end-to-end turn, warm container (docker, fake model)": summary(warm),
  };
}

export async function bench(): Promise<Record<string, string>> {
  return { ...(await hostLatency()), ...(await endToEnd()) };
}

if (import.meta.main) console.log(process.argv.includes("--host") ? await hostLatency() : await bench());
