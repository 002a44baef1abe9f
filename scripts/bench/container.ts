/**
 * Container runner figures. (a) With a reachable engine and the ngb-agent image: a cold
 * `docker run` to the first result against the fake Anthropic API (through the credential
 * proxy), and warm follow-ups (sendFollowUp → next result) p50/p99. (b) Without docker: the
 * follow-up hand-over itself (sendFollowUp call → file in place, and → fs.watch event seen).
 */
import { watch } from "node:fs";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { startFakeAnthropic } from "../../test/fakes/anthropic.ts";
import { Config } from "../../src/config/index.ts";
import { createDockerRunner, type SpawnFn } from "../../src/container/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { type ContainerOutput, formatOutput } from "../../src/protocol/index.ts";
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
    store: { outbound: { addUsage() {} } },
    log: silentLogger(),
    socketPath: join(root, "data", "proxy", "proxy.sock"),
  });
  const runner = createDockerRunner({
    config,
    log: silentLogger(),
    paths: { groupsDir: join(root, "groups"), dataDir: join(root, "data"), projectRoot: root },
    proxy,
    instanceId: "bench",
  });
  try {
    const g = group("bench");
    const w = outputsWaiter();
    const t0 = performance.now();
    const proc = await runner.start({
      group: g,
      input: { prompt: "hello", groupFolder: g.folder, chatJid: g.jid, isMain: false, assistantName: "Andy" },
      onOutput: async (o) => w.push(o),
    });
    await w.wait(1);
    const cold = performance.now() - t0;
    if (w.outputs[0]?.status !== "success") throw new Error(`agent failed: ${w.outputs[0]?.error}`);
    const warm: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now();
      if (!(await proc.sendFollowUp(`follow-up ${i}`))) throw new Error("follow-up refused");
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

/** A spawn whose "container" prints one result and then stays up, so follow-ups can be written. */
const idleAgent: SpawnFn = (cmd) => {
  const isRun = cmd[1] === "run";
  let stop!: () => void;
  const exited = new Promise<number>((r) => {
    stop = () => r(137);
  });
  return {
    stdin: { write() {}, end() {} },
    stdout: new ReadableStream<Uint8Array>({
      start(c) {
        if (!isRun) return c.close();
        c.enqueue(new TextEncoder().encode(formatOutput({ status: "success", result: "ready" })));
        void exited.then(() => c.close());
      },
    }),
    stderr: new Response("").body!,
    exited: isRun ? exited : Promise.resolve(0),
    kill: () => stop(),
  };
};

async function followUpWrite(out: Record<string, string>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "ngb-bench-fu-"));
  mkdirSync(join(root, "data", "proxy"), { recursive: true });
  const runner = createDockerRunner({
    config: v.parse(Config, { container: { idleTimeoutMs: 600_000 } }),
    log: silentLogger(),
    paths: { groupsDir: join(root, "groups"), dataDir: join(root, "data"), projectRoot: root },
    proxy: { socketPath: join(root, "data", "proxy", "proxy.sock"), issue: () => "t", revoke() {} },
    instanceId: "bench",
    spawn: idleAgent,
  });
  try {
    const g = group("fu");
    const w = outputsWaiter();
    const proc = await runner.start({
      group: g,
      input: { prompt: "x", groupFolder: g.folder, chatJid: g.jid, isMain: false, assistantName: "Andy" },
      onOutput: async (o) => w.push(o),
    });
    await w.wait(1);
    const inputDir = join(root, "data", "ipc", "fu", "input");
    let seen: ((name: string) => void) | undefined;
    const watcher = watch(inputDir, (_event, name) => {
      if (name?.endsWith(".json")) seen?.(name);
    });
    const call: number[] = [];
    const watched: number[] = [];
    for (let i = 0; i < 200; i++) {
      const evented = new Promise<void>((resolve) => {
        seen = () => resolve();
      });
      const t = performance.now();
      await proc.sendFollowUp(`message ${i}`);
      call.push(performance.now() - t);
      await evented;
      watched.push(performance.now() - t);
    }
    watcher.close();
    await proc.kill("bench over");
    out["follow-up hand-over (sendFollowUp → file in place)"] = p50p99(call);
    out["follow-up hand-over (sendFollowUp → fs.watch event)"] = p50p99(watched);
  } finally {
    await runner.stopAll();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function bench(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await followUpWrite(out);
  await realEngine(out);
  return out;
}

if (import.meta.main) console.log(await bench());
