/**
 * Run the real `ngb` as a child process: the compiled binary when `NGB_BIN` points at one
 * (CI sets it after `bun run build`), else `bun src/main.ts`. Each run gets a temp working dir
 * and an isolated environment (no user config, no real API key).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");

export function ngbArgv(): string[] {
  const bin = process.env.NGB_BIN;
  if (bin) return [resolve(ROOT, bin)];
  return [process.execPath, join(ROOT, "src/main.ts")];
}

export function tempWorkdir(prefix = "ngb-test-"): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Environment for a child ngb: isolated XDG dir, quiet unless asked. */
export function isolatedEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "DOCKER_HOST", "TMPDIR", "LANG"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, XDG_CONFIG_HOME: join(dir, ".xdg"), NGB_LOG_LEVEL: "info", ...extra };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runNgb(
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<RunResult> {
  const proc = Bun.spawn([...ngbArgv(), ...args], {
    cwd: opts.cwd,
    env: opts.env ?? isolatedEnv(opts.cwd),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export interface ServeHandle {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  /** Everything the process wrote to stderr so far. */
  logs(): string;
  /** SIGTERM and wait; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Start `ngb serve --port 0` and resolve once it logged its URL (deadline `timeoutMs`). */
export async function startServe(opts: {
  cwd: string;
  env?: Record<string, string>;
  args?: string[];
  timeoutMs?: number;
}): Promise<ServeHandle> {
  const proc = Bun.spawn(
    [...ngbArgv(), "serve", "--port", "0", "--log-format", "json", ...(opts.args ?? [])],
    {
      cwd: opts.cwd,
      env: opts.env ?? isolatedEnv(opts.cwd),
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    },
  );
  let stderr = "";
  const decoder = new TextDecoder();
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`ngb serve did not report its URL in time; stderr:\n${stderr}`));
    }, opts.timeoutMs ?? 15_000);
    (async () => {
      const reader = proc.stderr.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        stderr += decoder.decode(value, { stream: true });
        const m = /listening on (http:\/\/[^\s"]+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolveUrl(m[1]!);
        }
      }
      clearTimeout(timer);
      reject(new Error(`ngb serve exited (${await proc.exited}); stderr:\n${stderr}`));
    })().catch(reject);
  });
  return {
    proc,
    url,
    logs: () => stderr,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      const killer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      const code = await proc.exited;
      clearTimeout(killer);
      return code;
    },
  };
}
