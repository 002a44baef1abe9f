/**
 * Agent runner figures against the fake Anthropic API (real Claude Agent SDK inside):
 * - local process: cold turn (spawn → first result) and warm follow-up (file renamed into
 *   ipc/input → next result), p50/p99;
 * - the real image with `docker run -i --rm --init --network none` (when an engine and the
 *   ngb-agent image are here): the same two figures;
 * - `ngb image build --offline` when everything is up to date (the cached path tests and CI take).
 */
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CLOSE_SENTINEL } from "../../src/protocol/index.ts";
import { startFakeAnthropic } from "../../test/fakes/anthropic.ts";
import { localRunnerEnv, watchAgent } from "../../test/support/agent-process.ts";
import { agentImageAvailable } from "../../test/support/engine.ts";
import { startSocketProxy } from "../../test/support/socket-proxy.ts";

const RUNNER_DIR = resolve(import.meta.dir, "../../container/agent-runner");
const COLD = 3;
const WARM = 10;
const TOKEN = "bench-token";

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`;
const summary = (xs: number[]) => `p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))} (n=${xs.length})`;

type Launch = (ws: string) => { agent: ReturnType<typeof watchAgent>; started: number };

async function measure(launch: Launch, root: string, label: string): Promise<Record<string, string>> {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < COLD; i++) {
    const ws = join(root, `${label}-${i}`);
    for (const d of ["group", "global", "claude", "ipc/input", "ipc/messages", "ipc/tasks"]) {
      mkdirSync(join(ws, d), { recursive: true });
      chmodSync(join(ws, d), 0o777);
    }
    const { agent, started } = launch(ws);
    await agent.waitFor(1, 60_000);
    cold.push(performance.now() - started);
    if (i === 0) {
      for (let j = 0; j < WARM; j++) {
        const input = join(ws, "ipc/input");
        const t0 = performance.now();
        writeFileSync(join(input, `.${j}.tmp`), JSON.stringify({ type: "message", text: `follow-up ${j}` }));
        renameSync(join(input, `.${j}.tmp`), join(input, `${String(j).padStart(4, "0")}.json`));
        await agent.waitFor(j + 2, 30_000);
        warm.push(performance.now() - t0);
      }
    }
    writeFileSync(join(ws, "ipc/input", CLOSE_SENTINEL), "");
    await agent.exited;
  }
  return {
    [`agent ${label}: cold turn (start → first result)`]: summary(cold),
    [`agent ${label}: warm follow-up (file → result)`]: summary(warm),
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
  const input = (ws: string) =>
    JSON.stringify({
      prompt: `hello ${ws}`,
      groupFolder: "main",
      chatJid: "web:b",
      isMain: true,
      assistantName: "Andy",
      idleTimeoutMs: 60_000,
    });
  try {
    Object.assign(
      out,
      await measure(
        (ws) => {
          const started = performance.now();
          const proc = Bun.spawn([process.execPath, bundle], {
            stdin: "pipe",
            stdout: "pipe",
            stderr: "ignore",
            env: localRunnerEnv(ws, { socketPath: proxy.socketPath, token: TOKEN }),
          });
          proc.stdin.write(input(ws));
          proc.stdin.end();
          return { started, agent: watchAgent({ stdout: proc.stdout, exited: proc.exited }) };
        },
        root,
        "local process",
      ),
    );

    if (await agentImageAvailable()) {
      const docker = process.env.NGB_CONTAINER_RUNTIME || "docker";
      const t0 = performance.now();
      const { buildAgentImage } = await import("../../src/image/index.ts");
      await buildAgentImage({ runtime: docker, offline: true, log: () => {} });
      out["agent image build (up to date)"] = ms(performance.now() - t0);
      Object.assign(
        out,
        await measure(
          (ws) => {
            const started = performance.now();
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
                ...m(join(ws, "group"), "/workspace/group"),
                ...m(join(ws, "claude"), "/home/agent/.claude"),
                ...m(join(ws, "ipc"), "/workspace/ipc"),
                ...m(join(root, "proxy"), "/run/ngb"),
                "-e",
                "NGB_PROXY_TOKEN",
                "ngb-agent:latest",
              ],
              {
                stdin: "pipe",
                stdout: "pipe",
                stderr: "ignore",
                env: { ...process.env, NGB_PROXY_TOKEN: TOKEN },
              },
            );
            proc.stdin.write(input(ws));
            proc.stdin.end();
            return { started, agent: watchAgent({ stdout: proc.stdout, exited: proc.exited }) };
          },
          root,
          "container",
        ),
      );
    } else {
      out["agent container"] = "skipped (no engine or no ngb-agent image)";
    }
  } finally {
    await proxy.stop();
    await fake.stop();
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.main) console.log(await bench());
