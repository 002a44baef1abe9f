import { afterEach, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostDirs, prepareHostDirs } from "./args.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("an ipc sub-directory the agent swapped for a symlink is replaced, never followed", () => {
  const root = mkdtempSync(join(tmpdir(), "ngb-args-"));
  dirs.push(root);
  const victim = join(root, "victim");
  mkdirSync(victim);
  writeFileSync(join(victim, "precious.txt"), "keep me");
  const d = hostDirs(
    { groupsDir: join(root, "groups"), dataDir: join(root, "data"), projectRoot: root },
    "g1",
  );
  prepareHostDirs(d, undefined);
  // What a hostile agent could do inside its rw ipc mount:
  rmSync(d.input, { recursive: true });
  symlinkSync(victim, d.input);
  rmSync(join(d.ipc, "messages"), { recursive: true });
  symlinkSync(victim, join(d.ipc, "messages"));
  prepareHostDirs(d, undefined);
  expect(existsSync(join(victim, "precious.txt"))).toBe(true);
  expect(lstatSync(d.input).isDirectory()).toBe(true);
  expect(lstatSync(join(d.ipc, "messages")).isSymbolicLink()).toBe(false);
});

test("leftover follow-ups are cleared at start", () => {
  const root = mkdtempSync(join(tmpdir(), "ngb-args-"));
  dirs.push(root);
  const d = hostDirs(
    { groupsDir: join(root, "groups"), dataDir: join(root, "data"), projectRoot: root },
    "g1",
  );
  prepareHostDirs(d, undefined);
  writeFileSync(join(d.input, "_close"), "");
  prepareHostDirs(d, undefined);
  expect(existsSync(join(d.input, "_close"))).toBe(false);
});
