/**
 * First-run figures with the compiled binary alone in an empty directory, the engine and the
 * fake Anthropic API: `ngb setup --yes` to the first reply printed (image build excluded: the
 * image is `NGB_BENCH_IMAGE`, default ngb-agent:latest), and the time until `ngb chat` fails with
 * the clear sentence when the key is missing or rejected. The image build itself from the binary
 * (`ngb image build --offline`, a test tag) only with NGB_BENCH_IMAGE_BUILD=1: it takes ~1 min.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeAnthropic } from "../../test/fakes/anthropic.ts";

const ROOT = join(import.meta.dir, "../..");
const BIN = join(ROOT, "dist/ngb");
const IMAGE = process.env.NGB_BENCH_IMAGE ?? "ngb-agent:latest";
const GOOD = "sk-ant-api03-bench-good-key-00000000000000";
const BAD = "sk-ant-api03-bench-revoked-key-111111111111";
const s = (n: number) => `${(n / 1000).toFixed(2)} s`;

function env(dir: string): Record<string, string> {
  return {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, ".xdg"),
    NGB_LOG_LEVEL: "warn",
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
  };
}

function emptyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-first-"));
  copyFileSync(BIN, join(dir, "ngb"));
  return dir;
}

async function timed(dir: string, args: string[], timeoutMs = 120_000) {
  const t0 = performance.now();
  const p = Bun.spawn([join(dir, "ngb"), ...args], {
    cwd: dir,
    env: env(dir),
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearTimeout(killer);
  return { ms: performance.now() - t0, out, err, code };
}

async function serve(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const p = Bun.spawn([join(dir, "ngb"), "serve", "--port", "0"], {
    cwd: dir,
    env: { ...env(dir), NGB_LOG_LEVEL: "info" },
    stdout: "ignore",
    stderr: "pipe",
  });
  const reader = p.stderr.getReader();
  let log = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    log += new TextDecoder().decode(r.value);
    const m = /listening on (http:\/\/\S+)/.exec(log);
    if (m)
      return {
        url: m[1]!,
        stop: async () => {
          p.kill("SIGTERM");
          await p.exited;
        },
      };
  }
  throw new Error(`serve did not start: ${log}`);
}

/** Time until `ngb chat` gives up with the credentials sentence, for a serve configured by `prepare`. */
async function timeToError(fakeUrl: string, prepare: (dir: string) => void): Promise<string> {
  const dir = emptyDir();
  try {
    writeFileSync(
      join(dir, "ngb.config.json"),
      JSON.stringify({ anthropic: { baseUrl: fakeUrl }, container: { image: IMAGE } }),
    );
    prepare(dir);
    const srv = await serve(dir);
    try {
      const r = await timed(dir, ["chat", "hello", "--url", srv.url], 60_000);
      const sentence = /error: (No Anthropic API key|The Anthropic API key was rejected)/.test(r.err);
      return sentence
        ? s(r.ms)
        : `no sentence after ${s(r.ms)} (exit ${r.code}: ${r.err.trim().slice(0, 120)})`;
    } finally {
      await srv.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<Record<string, string>> {
  if (!existsSync(BIN)) return { "first run": "skipped: no dist/ngb (bun run build)" };
  const docker = Bun.spawnSync(["docker", "image", "inspect", IMAGE], { env: process.env });
  if (docker.exitCode !== 0) return { "first run": `skipped: no engine or no image ${IMAGE}` };
  const fake = startFakeAnthropic({
    acceptKeys: [GOOD],
    script: () => ({ text: "Hello from the fake model." }),
  });
  const out: Record<string, string> = {};
  try {
    const dir = emptyDir();
    try {
      const r = await timed(dir, [
        "setup",
        "--yes",
        "--api-key",
        GOOD,
        "--base-url",
        fake.url,
        "--image",
        IMAGE,
        "--build",
        "never",
        "--message",
        "hello",
      ]);
      out["setup --yes → first reply (image build excluded)"] =
        r.code === 0 && r.out.includes("Hello from the fake model.")
          ? s(r.ms)
          : `failed (exit ${r.code}): ${r.err.trim().split("\n").at(-1)}`;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    out["ngb chat → error, no key"] = await timeToError(fake.url, () => undefined);
    out["ngb chat → error, rejected key"] = await timeToError(fake.url, (dir) =>
      writeFileSync(join(dir, ".env"), `ANTHROPIC_API_KEY=${BAD}\n`, { mode: 0o600 }),
    );
    const setupDir = emptyDir();
    try {
      const r = await timed(setupDir, [
        "setup",
        "--yes",
        "--api-key",
        BAD,
        "--base-url",
        fake.url,
        "--image",
        IMAGE,
        "--build",
        "never",
      ]);
      out["ngb setup → refusal, rejected key"] = r.code === 1 ? s(r.ms) : `unexpected exit ${r.code}`;
    } finally {
      rmSync(setupDir, { recursive: true, force: true });
    }
    if (process.env.NGB_BENCH_IMAGE_BUILD === "1") {
      const dir = emptyDir();
      const tag = `ngb-agent:bench-${process.pid}`;
      try {
        const r = await timed(dir, ["image", "build", "--offline", "--image", tag], 900_000);
        out["image build from the binary (offline, cold)"] =
          r.code === 0 ? s(r.ms) : `failed: ${r.err.trim().split("\n").at(-1)}`;
      } finally {
        Bun.spawnSync(["docker", "image", "rm", "-f", tag], { env: process.env });
        rmSync(dir, { recursive: true, force: true });
      }
    } else
      out["image build from the binary"] =
        "not run (NGB_BENCH_IMAGE_BUILD=1; offline here: ≈64 s cold, ≈25–35 s with the engine's layer cache)";
  } finally {
    await fake.stop();
  }
  return out;
}
