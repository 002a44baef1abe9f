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

function dockerAnswers(
  image: string,
  env: Record<string, string | undefined>,
): "ok" | "no engine" | "no image" {
  try {
    if (
      Bun.spawnSync(["docker", "version", "--format", "{{.Server.Version}}"], { stderr: "ignore", env })
        .exitCode !== 0
    )
      return "no engine";
    return Bun.spawnSync(["docker", "image", "inspect", image], { stdout: "ignore", stderr: "ignore", env })
      .exitCode === 0
      ? "ok"
      : "no image";
  } catch {
    return "no engine";
  }
}

interface EngineVariant {
  /** Label suffix, e.g. "real engine" or "stdio transport". */
  label: string;
  transport: "mounts" | "stdio";
  /** DOCKER_HOST for this variant (default: the environment's). */
  dockerHost?: string;
}

/** The image of the real-engine figures: NGB_TEST_AGENT_IMAGE (a build with this tree's runner), else latest. */
const AGENT_IMAGE = process.env.NGB_TEST_AGENT_IMAGE || "ngb-agent:latest";

async function realEngine(out: Record<string, string>, variant: EngineVariant): Promise<void> {
  const image = AGENT_IMAGE;
  const coldKey = `container cold start → first result (${variant.label})`;
  const warmKey = `warm follow-up → next result (${variant.label})`;
  const env = { ...process.env, ...(variant.dockerHost ? { DOCKER_HOST: variant.dockerHost } : {}) };
  const state = dockerAnswers(image, env);
  if (state !== "ok") {
    const why =
      state === "no engine" ? "skipped: no engine" : `skipped: no ${image} image (scripts/agent-image.sh)`;
    out[coldKey] = why;
    out[warmKey] = why;
    return;
  }
  const root = mkdtempSync(join(tmpdir(), "ngb-bench-ctr-"));
  const fake = startFakeAnthropic({ script: (req) => ({ text: `ok ${req.messages.length}` }) });
  const config = v.parse(Config, {
    anthropic: { apiKey: "sk-bench-dummy", baseUrl: fake.url },
    container: { image, idleTimeoutMs: 60_000, transport: variant.transport },
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
    env,
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
    out[coldKey] = ms(cold);
    out[warmKey] = p50p99(warm);
  } catch (err) {
    out[coldKey] = `failed: ${(err as Error).message}`;
  } finally {
    await runner.stopAll();
    if (variant.transport === "stdio") {
      // The volumes this bench created on the engine (label ngb.instance=bench).
      const ls = Bun.spawnSync(["docker", "volume", "ls", "-q", "--filter", "label=ngb.instance=bench"], {
        env,
      });
      const vols = new TextDecoder().decode(ls.stdout).split("\n").filter(Boolean);
      if (vols.length) Bun.spawnSync(["docker", "volume", "rm", "-f", ...vols], { env });
    }
    await proxy.stop();
    await fake.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The transport alone, without docker: one small HTTP request/response (the size of a short
 * model turn) through the socket forwarder (TCP → unix socket) and through the stdio forwarder
 * and the host's bridge (TCP → frames → unix socket), both against the same unix-socket server.
 */
async function proxyTransport(out: Record<string, string>): Promise<void> {
  const { startForwarder } = await import("../../container/agent-runner/src/proxy-forwarder.ts");
  const { startStdioForwarder } = await import("../../container/agent-runner/src/stdio-forwarder.ts");
  const { silentRunnerLog } = await import("../../container/agent-runner/src/io.ts");
  const { createProxyBridge } = await import("../../src/container/proxy-bridge.ts");
  const { encodeHostFrame, formatFrame: fmt } = await import("../../src/protocol/index.ts");
  const { readHostFrames } = await import("../../container/agent-runner/src/host-frames.ts");
  const root = mkdtempSync(join(tmpdir(), "ngb-bench-proxy-"));
  const socketPath = join(root, "p.sock");
  const body = "x".repeat(2_000);
  const server = Bun.serve({
    unix: socketPath,
    fetch: async (req) => new Response(`${await req.text()}${body}`),
  });
  const time = async (url: string) => {
    const xs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      const res = await fetch(`${url}/v1/messages`, { method: "POST", body: body });
      await res.text();
      xs.push(performance.now() - t);
    }
    return xs.slice(20);
  };
  try {
    const socketFwd = await startForwarder(socketPath, silentRunnerLog);
    out["model request over the proxy socket (forwarder → unix socket)"] = p50p99(await time(socketFwd.url));
    await socketFwd.stop();
    // Frames really serialized and parsed both ways, as on the container's stdio.
    const parser = createFrameParser();
    let bridge: ReturnType<typeof createProxyBridge> | undefined;
    let fwd: Awaited<ReturnType<typeof startStdioForwarder>> | undefined;
    const toAgent = async function* () {
      while (true) yield await new Promise<string>((r) => (pendingLine = r));
    };
    let pendingLine: ((s: string) => void) | undefined;
    const queue: string[] = [];
    bridge = createProxyBridge({
      socketPath,
      send: (f) => {
        queue.push(encodeHostFrame(f));
        if (pendingLine) {
          const r = pendingLine;
          pendingLine = undefined;
          r(queue.splice(0).join(""));
        }
      },
      log: { warn() {} },
    });
    void (async () => {
      for await (const item of readHostFrames(toAgent())) {
        if ("frame" in item && item.frame.type.startsWith("proxy_")) fwd?.receive(item.frame as never);
      }
    })();
    fwd = await startStdioForwarder({
      write: (frame) => {
        for (const f of parser.push(fmt(frame))) if (f.type.startsWith("proxy_")) bridge?.handle(f as never);
      },
      log: silentRunnerLog,
    });
    out["model request over stdio frames (forwarder → frames → bridge → unix socket)"] = p50p99(
      await time(fwd.url),
    );
    await fwd.stop();
    bridge.close("bench over");
  } finally {
    server.stop(true);
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
  await proxyTransport(out);
  await realEngine(out, { label: "real engine", transport: "mounts" });
  await realEngine(out, { label: "real engine, stdio transport + volumes", transport: "stdio" });
  // A second engine (e.g. a private dockerd with its own socket; or ssh://… to another machine).
  const remote = process.env.NGB_BENCH_REMOTE_DOCKER_HOST;
  if (remote)
    await realEngine(out, {
      label: "second engine, stdio transport",
      transport: "stdio",
      dockerHost: remote,
    });
  return out;
}

if (import.meta.main) console.log(await bench());
