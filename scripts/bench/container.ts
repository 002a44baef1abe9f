/**
 * Container runner figures. (a) With a reachable engine and the ngb-agent image: a cold
 * `docker run` to the first result against the fake Anthropic API (through the credential
 * proxy), and warm follow-ups (sendInput → next result) p50/p99. (b) Without docker: the
 * follow-up hand-over itself (sendInput → the input frame written to the container's stdin).
 * (c) Hostile output: parse time and peak RSS for a 50 MB single-line stdout.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { startFakeAnthropic } from "../../test/fakes/anthropic.ts";
import { Config } from "../../src/config/index.ts";
import { createDockerRunner, createFrameParser, type SpawnFn } from "../../src/container/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { type ContainerOutput, formatFrame } from "../../src/protocol/index.ts";
import { createCredentialProxy } from "../../src/proxy/index.ts";
import type { RegisteredGroup } from "../../src/store/index.ts";

const ROUNDS = 20;

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
const p50p99 = (xs: number[]) => `p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))} (n=${xs.length})`;

function group(folder: string): RegisteredGroup {
  return {
    jid: `web:${folder}`,
    name: folder,
    folder,
    triggerPattern: null,
    requiresTrigger: false,
    isMain: false,
    containerConfig: null,
    addedAt: 0,
  };
}

/** Waits for the n-th output, with a deadline. */
function outputsWaiter() {
  const outputs: ContainerOutput[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    outputs,
    push(o: ContainerOutput) {
      outputs.push(o);
      for (const w of waiters.filter((w) => outputs.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
    wait(n: number, timeoutMs = 60_000): Promise<void> {
      if (outputs.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no output #${n} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
      });
    },
  };
}

function dockerAnswers(image: string): "ok" | "no engine" | "no image" {
  try {
    if (
      Bun.spawnSync(["docker", "version", "--format", "{{.Server.Version}}"], { stderr: "ignore" })
        .exitCode !== 0
    )
      return "no engine";
    return Bun.spawnSync(["docker", "image", "inspect", image], { stdout: "ignore", stderr: "ignore" })
      .exitCode === 0
      ? "ok"
      : "no image";
  } catch {
    return "no engine";
  }
}

async function realEngine(out: Record<string, string>): Promise<void> {
  const image = "ngb-agent:latest";
  const state = dockerAnswers(image);
  if (state !== "ok") {
    const why =
      state === "no engine" ? "skipped: no engine" : `skipped: no ${image} image (scripts/agent-image.sh)`;
    out["container cold start → first result (real engine)"] = why;
    out["warm follow-up → next result (real engine)"] = why;
    return;
  }
  const root = mkdtempSync(join(tmpdir(), "ngb-bench-ctr-"));
  const fake = startFakeAnthropic({ script: (req) => ({ text: `ok ${req.messages.length}` }) });
  const config = v.parse(Config, {
    anthropic: { apiKey: "sk-bench-dummy", baseUrl: fake.url },
    container: { image, idleTimeoutMs: 60_000 },
  });
  const proxy = createCredentialProxy({
    config,
    store: { usage: { add() {} } },
    log: silentLogger(),
    socketPath: join(root, "data", "proxy", "proxy.sock"),
  });
  const runner = createDockerRunner({
    config,
    log: silentLogger(),
    paths: { groupsDir: join(root, "groups"), dataDir: join(root, "data") },
    proxy,
    instanceId: "bench",
  });
  try {
    const g = group("bench");
    const w = outputsWaiter();
    const t0 = performance.now();
    const proc = await runner.start({
      group: g,
      input: {
        prompt: "hello",
        inputId: "i0",
        groupFolder: g.folder,
        chatJid: g.jid,
        isMain: false,
        assistantName: "Andy",
      },
      onResult: async (o) => w.push(o),
      onRequest: async () => ({ ok: false, text: "no" }),
    });
    await w.wait(1);
    const cold = performance.now() - t0;
    if (w.outputs[0]?.status !== "success") throw new Error(`agent failed: ${w.outputs[0]?.error}`);
    const warm: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now();
      if (!proc.sendInput({ id: `i${i + 1}`, text: `follow-up ${i}` })) throw new Error("follow-up refused");
      await w.wait(2 + i);
      warm.push(performance.now() - t);
    }
    proc.close();
    await proc.done;
    out["container cold start → first result (real engine)"] = ms(cold);
    out["warm follow-up → next result (real engine)"] = p50p99(warm);
  } catch (err) {
    out["container cold start → first result (real engine)"] = `failed: ${(err as Error).message}`;
  } finally {
    await runner.stopAll();
    await proxy.stop();
    await fake.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** A spawn whose "container" prints one result and then stays up; stdin writes are timed. */
function idleAgent(onStdin: () => void): SpawnFn {
  return (cmd) => {
    const isRun = cmd[1] === "run";
    let stop!: () => void;
    const exited = new Promise<number>((r) => {
      stop = () => r(137);
    });
    return {
      stdin: { write: () => onStdin(), flush() {}, end() {} },
      stdout: new ReadableStream<Uint8Array>({
        start(c) {
          if (!isRun) return c.close();
          c.enqueue(
            new TextEncoder().encode(
              formatFrame({ type: "result", status: "success", result: "ready", consumed: ["i0"] }),
            ),
          );
          void exited.then(() => c.close());
        },
      }),
      stderr: new Response("").body!,
      exited: isRun ? exited : Promise.resolve(0),
      kill: () => stop(),
    };
  };
}

async function followUpWrite(out: Record<string, string>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "ngb-bench-fu-"));
  mkdirSync(join(root, "data", "proxy"), { recursive: true });
  let wrote = 0;
  const runner = createDockerRunner({
    config: v.parse(Config, { container: { idleTimeoutMs: 600_000 } }),
    log: silentLogger(),
    paths: { groupsDir: join(root, "groups"), dataDir: join(root, "data") },
    proxy: { socketPath: join(root, "data", "proxy", "proxy.sock"), issue: () => "t", revoke() {} },
    instanceId: "bench",
    spawn: idleAgent(() => {
      wrote = performance.now();
    }),
  });
  try {
    const g = group("fu");
    const w = outputsWaiter();
    const proc = await runner.start({
      group: g,
      input: {
        prompt: "x",
        inputId: "i0",
        groupFolder: g.folder,
        chatJid: g.jid,
        isMain: false,
        assistantName: "Andy",
      },
      onResult: async (o) => w.push(o),
      onRequest: async () => ({ ok: false, text: "no" }),
    });
    await w.wait(1);
    const call: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      proc.sendInput({ id: `f${i}`, text: `message ${i}` });
      call.push(wrote - t);
    }
    await proc.kill("bench over");
    out["follow-up hand-over (sendInput → frame on the container's stdin)"] = p50p99(call);
  } finally {
    await runner.stopAll();
    rmSync(root, { recursive: true, force: true });
  }
}

/** Issue 11: an agent printing 50 MB on one line — parse time and memory stay bounded. */
function hostileOutput(out: Record<string, string>): void {
  Bun.gc(true);
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
  const parser = createFrameParser({ onInvalid: () => {} });
  const t0 = performance.now();
  for (let i = 0; i < 800; i++) {
    parser.push(chunk);
    if (i % 50 === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  parser.push(`\n${formatFrame({ type: "result", status: "success", result: "after", consumed: [] })}`);
  const ms50 = performance.now() - t0;
  peak = Math.max(peak, process.memoryUsage().rss);
  out["50 MB single-line agent output: parse time"] = ms(ms50);
  out["50 MB single-line agent output: RSS growth while parsing"] =
    `${((peak - rss0) / 1024 / 1024).toFixed(1)} MB`;
}

export async function bench(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  hostileOutput(out);
  await followUpWrite(out);
  await realEngine(out);
  return out;
}

if (import.meta.main) console.log(await bench());
