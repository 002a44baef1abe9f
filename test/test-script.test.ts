/**
 * scripts/test-prepare.sh (what `npm test` and CI prepare): with CI=true or NGB_TEST_REQUIRE=1 a
 * prerequisite that cannot be prepared fails the run with one line instead of skipping tests,
 * and the tests' own checks (test/support/engine.ts) fail instead of skipping.
 * Run with a PATH that has a shell and coreutils but no docker, dockerd or apt-get, so nothing
 * is installed or started.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SCRIPT = resolve(import.meta.dir, "../scripts/test-prepare.sh");
const bin = join(mkdtempSync(join(tmpdir(), "ngb-test-script-")), "bin");
mkdirSync(bin);
for (const tool of ["bash", "id", "dirname"]) {
  const path = Bun.which(tool);
  if (!path) throw new Error(`${tool} not found`);
  symlinkSync(path, join(bin, tool));
}
afterAll(() => rmSync(resolve(bin, ".."), { recursive: true, force: true }));

function prepare(env: Record<string, string>) {
  const res = Bun.spawnSync([join(bin, "bash"), SCRIPT], {
    env: { PATH: bin, HOME: tmpdir(), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: res.exitCode, stderr: res.stderr.toString() };
}

// An executable stands in for chromium, so the engine is what is missing.
const chromium = { CHROMIUM_PATH: Bun.which("bash")! };

describe("scripts/test-prepare.sh", () => {
  test("required (NGB_TEST_REQUIRE=1): no container engine fails the run with one line", () => {
    const r = prepare({ ...chromium, NGB_TEST_REQUIRE: "1" });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "test: FAILED: no container engine (docker/dockerd) and no way to install one (need root + apt) (required: CI=true or NGB_TEST_REQUIRE=1)\n",
    );
  });

  test("CI=true is required too; a missing chromium fails first", () => {
    const r = prepare({ CI: "true", CHROMIUM_PATH: join(bin, "no-chromium") });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("test: FAILED: no chromium at");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("required: a test's engine check fails instead of skipping (test/support/engine.ts)", () => {
    const check = (env: Record<string, string>) =>
      Bun.spawnSync(
        [
          process.execPath,
          "-e",
          `const { engineAvailable } = await import(${JSON.stringify(resolve(import.meta.dir, "support/engine.ts"))});
           console.log(await engineAvailable());`,
        ],
        {
          env: { PATH: bin, HOME: tmpdir(), NGB_CONTAINER_RUNTIME: "no-such-docker", ...env },
          stderr: "pipe",
        },
      );
    const skipped = check({});
    expect(skipped.exitCode).toBe(0);
    expect(skipped.stdout.toString()).toBe("false\n");
    expect(skipped.stderr.toString()).toContain("[skip] no no-such-docker CLI on PATH");
    const required = check({ NGB_TEST_REQUIRE: "1" });
    expect(required.exitCode).not.toBe(0);
    expect(required.stderr.toString()).toContain("MissingPrerequisiteError");
    expect(required.stderr.toString()).toContain("no no-such-docker CLI on PATH (required here");
  });

  test("not required: the same gaps are reported and their tests skipped", () => {
    const r = prepare({ CHROMIUM_PATH: join(bin, "no-chromium") });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("browser tests will be skipped");
    expect(r.stderr).toContain("container tests will be skipped");
  });
});
