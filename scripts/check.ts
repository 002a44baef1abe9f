/**
 * `bun run check` (npm run check): the gates of STYLE.md, in order, the same as CI runs them
 * (.ci/run installs, then calls this):
 *   1. installed dependencies match the exact versions pinned in package.json (root and agent runner)
 *   2. Biome lint + format (`biome ci .`)
 *   3. `tsc --noEmit`
 *   4. the test suite (`scripts/test.sh`: prepares engine/image/chromium, builds dist/ngb, runs
 *      `bun test` and the agent runner's tests)
 *   5. a smoke run of the built binary: --version, --help, `serve` on a free port answering /readyz,
 *      a clean stop on SIGTERM.
 * Stops at the first failing gate with its name. `--no-tests` skips gate 4 (a quick local check;
 * gate 5 then needs an existing dist/ngb or builds one).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const BIN = join(ROOT, "node_modules", ".bin");
const env = { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ""}` };
const started = performance.now();

class GateError extends Error {}

function step(name: string): void {
  process.stderr.write(`\n== ${name} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
}

function run(cmd: string[], cwd = ROOT): void {
  const res = Bun.spawnSync(cmd, { cwd, env, stdout: "inherit", stderr: "inherit" });
  if (res.exitCode !== 0) throw new GateError(`${cmd.join(" ")} exited ${res.exitCode}`);
}

function pinned(dir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const problems: string[] = [];
  for (const [name, want] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    const file = join(dir, "node_modules", name, "package.json");
    if (!existsSync(file)) {
      problems.push(`${name}@${want} is not installed in ${dir}`);
      continue;
    }
    // Some packages write their own version with a "v" (dingtalk-stream: "v2.1.5").
    const got = (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version.replace(/^v/, "");
    if (got !== want) problems.push(`${name}: ${got} installed, ${want} pinned (${dir})`);
  }
  return problems;
}

async function smoke(): Promise<void> {
  const ngb = join(ROOT, "dist", "ngb");
  if (!existsSync(ngb)) run(["bun", "run", "build"]);
  run([ngb, "--version"]);
  const help = Bun.spawnSync([ngb, "--help"], { env, stdout: "pipe" });
  if (help.exitCode !== 0) throw new GateError("ngb --help failed");
  const dir = mkdtempSync(join(tmpdir(), "ngb-check-"));
  const proc = Bun.spawn([ngb, "serve", "--port", "0", "--log-format", "json"], {
    cwd: dir,
    env,
    stdout: "ignore",
    stderr: "pipe",
  });
  try {
    const reader = proc.stderr.getReader();
    let log = "";
    let url: string | undefined;
    const deadline = Date.now() + 20_000;
    while (!url && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      log += new TextDecoder().decode(value);
      url = /listening on (http:\/\/[^"\s]+)/.exec(log)?.[1];
    }
    reader.releaseLock();
    if (!url) throw new GateError(`serve did not start:\n${log}`);
    const res = await fetch(`${url}/readyz`);
    process.stderr.write(`${res.status} ${await res.text()}\n`);
    if (!res.ok) throw new GateError(`/readyz answered ${res.status}`);
    proc.kill("SIGTERM");
    const code = await proc.exited;
    if (code !== 0) throw new GateError(`serve exited ${code} on SIGTERM`);
    process.stderr.write("serve stopped cleanly\n");
  } finally {
    proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  step("dependencies match the pinned versions");
  const problems = [...pinned(ROOT), ...pinned(join(ROOT, "container", "agent-runner"))];
  if (problems.length > 0) throw new GateError(`${problems.join("\n")}\n(run npm install)`);
  step("lint (biome ci)");
  run(["biome", "ci", "."]);
  step("typecheck (tsc --noEmit)");
  run(["tsc", "--noEmit", "-p", "."]);
  if (!process.argv.includes("--no-tests")) {
    step("test (scripts/test.sh)");
    run(["bash", "scripts/test.sh"]);
  }
  step("smoke: the built binary");
  await smoke();
  step("check passed");
} catch (err) {
  process.stderr.write(`check failed: ${(err as Error).message}\n`);
  process.exit(1);
}
