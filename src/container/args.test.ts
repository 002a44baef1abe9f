import { afterEach, expect, test } from "bun:test";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerUser, hostDirs, prepareHostDirs } from "./args.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const root = mkdtempSync(join(tmpdir(), "ngb-args-"));
  dirs.push(root);
  return { root, d: hostDirs({ groupsDir: join(root, "groups"), dataDir: join(root, "data") }, "g1") };
}

test("the logs dir is host-only (data/logs/<folder>, 0700), never inside the group folder", () => {
  const { root, d } = setup();
  prepareHostDirs(d, {});
  expect(d.logs).toBe(join(root, "data", "logs", "g1"));
  expect(statSync(d.logs).mode & 0o777).toBe(0o700);
  expect(d.logs.startsWith(d.group)).toBe(false);
});

test("a symlink the agent planted inside its folder is never followed by the preparation", () => {
  const { root, d } = setup();
  const victim = join(root, "victim");
  mkdirSync(victim);
  writeFileSync(join(victim, "precious.txt"), "keep me");
  const before = statSync(join(victim, "precious.txt"));
  prepareHostDirs(d, {});
  symlinkSync(victim, join(d.group, "link"));
  symlinkSync(join(victim, "precious.txt"), join(d.group, "file-link"));
  prepareHostDirs(d, { user: "4242:4242" });
  const after = statSync(join(victim, "precious.txt"));
  expect(readFileSync(join(victim, "precious.txt"), "utf8")).toBe("keep me");
  expect([after.uid, after.gid, after.mode]).toEqual([before.uid, before.gid, before.mode]);
  expect(readlinkSync(join(d.group, "link"))).toBe(victim);
});

test("a group folder replaced by a file or symlink is made a real directory again", () => {
  const { root, d } = setup();
  mkdirSync(join(root, "groups"), { recursive: true });
  symlinkSync(root, d.group);
  prepareHostDirs(d, {});
  expect(lstatSync(d.group).isDirectory()).toBe(true);
});

test("the agent's uid is 10001 unless configured; a bare uid gets the same gid", () => {
  expect(containerUser({}).split(":")[0]).toBe("10001");
  expect(containerUser({ user: "2000" })).toBe("2000:2000");
  expect(containerUser({ user: "2000:3000" })).toBe("2000:3000");
});

test("a root host hands the writable mounts to the agent's uid", () => {
  if (process.getuid?.() !== 0) return;
  const { d } = setup();
  prepareHostDirs(d, {});
  writeFileSync(join(d.group, "notes.md"), "x");
  prepareHostDirs(d, { user: "4343:4343" });
  expect(statSync(join(d.group, "notes.md")).uid).toBe(4343);
  expect(statSync(d.claudeHome).uid).toBe(4343);
});
