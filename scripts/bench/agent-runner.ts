/**
 * Agent runner figures against the fake Anthropic API (real Claude Agent SDK inside), driven
 * over stdio with protocol v2 frames:
 * - local process: cold turn (spawn → first result) and warm follow-up (`input` frame → its
 *   result), p50/p99;
 * - the real image with `docker run -i --rm --init --network none --read-only --user 10001`
 *   (when an engine and the image are here): the same two figures;
 * - `ngb image build --offline` when everything is up to date (the cached path tests and CI take).
 * NGB_TEST_AGENT_IMAGE picks the image (default ngb-agent:latest).
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ContainerInput } from "../../src/protocol/index.ts";
import { startFakeAnthropic } from "../../test/fakes/anthropic.ts";
import { hostStdin, localRunnerEnv, watchAgent } from "../../test/support/agent-process.ts";
import { agentImageAvailable } from "../../test/support/engine.ts";
import { startSocketProxy } from "../../test/support/socket-proxy.ts";

const RUNNER_DIR = resolve(import.meta.dir, "../../container/agent-runner");
const IMAGE = process.env.NGB_TEST_AGENT_IMAGE || "ngb-agent:latest";
const COLD = 3;
const WARM = 10;
const TOKEN = "bench-token";
const AGENT_ID = 10001;

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`;
const summary = (xs: number[]) => `p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))} (n=${xs.length})`;

interface Launched {
  agent: ReturnType<typeof watchAgent>;
  host: ReturnType<typeof hostStdin>;
  started: number;
}
type Launch = (ws: string) => Launched;

async function measure(launch: Launch, root: string, label: string): Promise<Record<string, string>> {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < COLD; i++) {
    const ws = join(root, `${label}-${i}`);
    for (const d of ["group", "global", "claude"]) {
      mkdirSync(join(ws, d), { recursive: true });
      if (process.getuid?.() === 0) chownSync(join(ws, d), 0, AGENT_ID);
      chmodSync(join(ws, d), 0o2775);
    }
    const { agent, host, started } = launch(ws);
    await agent.waitFor(1, 60_000);
    cold.push(performance.now() - started);
    if (i === 0) {
      for (let j = 0; j < WARM; j++) {
        const t0 = performance.now();
        host.send({ type: "input", id: `f-${j}`, text: `follow-up ${j}` });
        await agent.waitFor(j + 2, 30_000);
        warm.push(performance.now() - t0);
      }
    }
    host.send({ type: "close" });
    await agent.exited;
  }
  return {
    [`agent ${label}: cold turn (start → first result)`]: summary(cold),
    [`agent ${label}: warm follow-up (input frame → result)`]: summary(warm),
  };
}

export async function bench(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const { bundleRunner } = await import("../../src/image/index.ts");
  const bundle = await bundleRunner(RUNNER_DIR);
  const root = mkdtempSync(join(tmpdir(), "ngb-bench-runner-"));
  chmodSync(root, 0o755);
  const fake = startFakeAnthropic();
  mkdirSync(join(root, "proxy"), { mode: 0o755 });
  const proxy = startSocketProxy({
    socketPath: join(root, "proxy/proxy.sock"),
    upstream: fake.url,
    token: TOKEN,
  });
  const input = (ws: string): ContainerInput => ({
    prompt: `hello ${ws}`,
    inputId: "start",
    groupFolder: "main",
    chatJid: "web:b",
    isMain: true,
    assistantName: "Andy",
    idleTimeoutMs: 60_000,
  });
  const started = (
    proc: {
      stdin: Parameters<typeof hostStdin>[0];
      stdout: ReadableStream<Uint8Array>;
      exited: Promise<number>;
    },
    ws: string,
    t0: number,
  ): Launched => {
    const host = hostStdin(proc.stdin);
    host.send({ type: "start", input: input(ws) });
    return { started: t0, host, agent: watchAgent({ stdout: proc.stdout, exited: proc.exited }) };
  };
  try {
    Object.assign(
      out,
      await measure(
        (ws) => {
          const t0 = performance.now();
          const proc = Bun.spawn([process.execPath, bundle], {
            stdin: "pipe",
            stdout: "pipe",
            stderr: "ignore",
            env: localRunnerEnv(ws, { socketPath: proxy.socketPath, token: TOKEN }),
          });
          return started(proc, ws, t0);
        },
        root,
        "local process",
      ),
    );

    if (await agentImageAvailable(IMAGE)) {
      const docker = process.env.NGB_CONTAINER_RUNTIME || "docker";
      const t0 = performance.now();
      const { buildAgentImage } = await import("../../src/image/index.ts");
      await buildAgentImage({ runtime: docker, image: IMAGE, offline: true, log: () => {} });
      out["agent image build (up to date)"] = ms(performance.now() - t0);
      Object.assign(
        out,
        await measure(
          (ws) => {
            const t1 = performance.now();
            const m = (s: string, d: string) => ["--mount", `type=bind,source=${s},target=${d}`];
            const proc = Bun.spawn(
              [
                docker,
                "run",
                "-i",
                "--rm",
                "--init",
                "--network",
                "none",
                "--cap-drop",
                "ALL",
                "--read-only",
                "--tmpfs",
                "/tmp",
                "--user",
                `${AGENT_ID}:${AGENT_ID}`,
                ...m(join(ws, "group"), "/workspace/group"),
                ...m(join(ws, "claude"), "/home/agent/.claude"),
                ...m(join(root, "proxy"), "/run/ngb"),
                "-e",
                "NGB_PROXY_TOKEN",
                IMAGE,
              ],
              {
                stdin: "pipe",
                stdout: "pipe",
                stderr: "ignore",
                env: { ...process.env, NGB_PROXY_TOKEN: TOKEN },
              },
            );
            return started(proc, ws, t1);
          },
          root,
          "container",
        ),
      );
    } else {
      out["agent container"] = `skipped (no engine or no ${IMAGE} image)`;
    }
  } finally {
    await proxy.stop();
    await fake.stop();
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.main) console.log(await bench());
