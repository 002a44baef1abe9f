/**
 * How long the tests take, so a slow creep is visible: `bun test` wall time of the unit tests
 * (`npm run test:unit`: src/ and the agent runner's own tests, no engine) and, with
 * NGB_BENCH_FULL_SUITE=1, of the whole suite as `npm test` runs it (needs the container engine,
 * the agent image and chromium prepared; preparation and the build are not counted).
 *
 *   bun run bench tests                          # unit tests
 *   NGB_BENCH_FULL_SUITE=1 bun run bench tests   # and the whole suite
 */
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const TIMEOUT = "30000";

function timedTest(args: string[], cwd: string): { seconds: number; tests: number; failed: number } {
  const t = performance.now();
  const res = Bun.spawnSync([process.execPath, "test", "--timeout", TIMEOUT, ...args], {
    cwd,
    env: process.env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const seconds = (performance.now() - t) / 1000;
  const out = res.stdout.toString() + res.stderr.toString();
  const tests = Number(/Ran (\d+) tests?/.exec(out)?.[1] ?? 0);
  const failed = Number(/^\s*(\d+) fail$/m.exec(out)?.[1] ?? (res.exitCode === 0 ? 0 : 1));
  return { seconds, tests, failed };
}

const line = (r: { seconds: number; tests: number; failed: number }) =>
  `${r.seconds.toFixed(1)} s (${r.tests} tests${r.failed ? `, ${r.failed} FAILED` : ""})`;

export async function bench(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const src = timedTest(["./src"], ROOT);
  const runner = timedTest(["--preload", "../../test/setup.ts"], join(ROOT, "container/agent-runner"));
  out["bun test wall time, unit tests: src/"] = line(src);
  out["bun test wall time, unit tests: agent runner"] = line(runner);
  out["bun test wall time, unit tests: total"] = `${(src.seconds + runner.seconds).toFixed(1)} s`;
  if (process.env.NGB_BENCH_FULL_SUITE === "1") {
    const all = timedTest([], ROOT);
    out["bun test wall time, whole suite (root; prepared engine, image, chromium)"] = line(all);
    out["bun test wall time, whole suite + agent runner"] = `${(all.seconds + runner.seconds).toFixed(1)} s`;
  } else {
    out["bun test wall time, whole suite"] = "not run (NGB_BENCH_FULL_SUITE=1; needs the engine prepared)";
  }
  return out;
}

if (import.meta.main) {
  for (const [k, v] of Object.entries(await bench())) console.log(`  ${k}  ${v}`);
}
