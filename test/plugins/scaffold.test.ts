/**
 * `ngb plugins new` scaffolds a plugin whose test passes as generated (`ngb plugins test`, from
 * source and from the compiled binary when built) and which type-checks; misuse is one line.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const BIN = join(ROOT, "dist/ngb");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "ngb-scaffold-"));
  dirs.push(dir);
  writeFileSync(join(dir, "ngb.config.json"), JSON.stringify({ plugins: { dir: "plugins" } }));
  return dir;
}
const ngb = (cmd: string[], cwd: string, argv0 = [process.execPath, join(ROOT, "src/main.ts")]) => {
  const p = Bun.spawnSync([...argv0, ...cmd], {
    cwd,
    env: { PATH: process.env.PATH, HOME: cwd, NGB_LOG_LEVEL: "warn" },
  });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
};

test("the scaffold's test passes as generated and the plugin type-checks", () => {
  const dir = project();
  const made = ngb(["plugins", "new", "greeter"], dir);
  expect(made.code).toBe(0);
  expect(made.out).toContain(join(dir, "plugins", "greeter", "index.ts"));
  const run = ngb(["plugins", "test", "greeter"], dir);
  expect(run.out).toContain("2 pass, 0 fail");
  expect(run.code).toBe(0);
  // Types: the API from .ngb/plugin.ts, valibot's from an install (linked here).
  const plugin = join(dir, "plugins", "greeter");
  mkdirSync(join(plugin, "node_modules"));
  symlinkSync(join(ROOT, "node_modules", "valibot"), join(plugin, "node_modules", "valibot"));
  const tsc = Bun.spawnSync([join(ROOT, "node_modules/.bin/tsc"), "-p", plugin]);
  expect(tsc.stdout.toString()).toBe("");
  expect(tsc.exitCode).toBe(0);
}, 60_000);

test("a failing plugin test fails the command", () => {
  const dir = project();
  ngb(["plugins", "new", "greeter"], dir);
  writeFileSync(
    join(dir, "plugins", "greeter", "extra.test.ts"),
    `import { expect, test } from "bun:test";\ntest("wrong", () => { expect(1).toBe(2); });\n`,
  );
  const run = ngb(["plugins", "test", "greeter"], dir);
  expect(run.out).toContain("✗ wrong");
  expect(run.out).toContain("2 pass, 1 fail");
  expect(run.code).toBe(1);
}, 30_000);

test("misuse: a bad name, an existing plugin, no tests", () => {
  const dir = project();
  const bad = ngb(["plugins", "new", "Bad Name"], dir);
  expect(bad.code).toBe(1);
  expect(bad.err).toContain('"Bad Name" is not a plugin name');
  ngb(["plugins", "new", "twice"], dir);
  const again = ngb(["plugins", "new", "twice"], dir);
  expect(again.code).toBe(1);
  expect(again.err).toContain("already exists");
  const none = ngb(["plugins", "test", "nothing"], dir);
  expect(none.code).toBe(1);
  expect(none.err).toContain('no test files for plugin "nothing"');
}, 30_000);

test.skipIf(!existsSync(BIN))(
  "the compiled binary scaffolds and runs the test too",
  () => {
    const dir = project();
    expect(ngb(["plugins", "new", "greeter"], dir, [BIN]).code).toBe(0);
    const run = ngb(["plugins", "test", "greeter"], dir, [BIN]);
    expect(run.out).toContain("2 pass, 0 fail");
    expect(run.code).toBe(0);
  },
  30_000,
);
