import { afterEach, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LogObject } from "consola/core";
import { createLogger, fileReporter, jsonLine, prettyLine } from "./index.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const obj = (args: unknown[], extra: Partial<LogObject> = {}): LogObject =>
  ({
    date: new Date("2026-01-02T03:04:05Z"),
    type: "info",
    level: 3,
    tag: "sched",
    args,
    ...extra,
  }) as LogObject;

test("pretty and JSON lines carry time, level, tag, message and details", () => {
  expect(prettyLine(obj(["task due", { id: "t1" }]))).toBe('03:04:05Z info  [sched] task due {"id":"t1"}');
  expect(JSON.parse(jsonLine(obj(["task due", { id: "t1" }])))).toEqual({
    time: "2026-01-02T03:04:05.000Z",
    level: "info",
    tag: "sched",
    msg: "task due",
    id: "t1",
  });
  // Errors keep name and message, never a stack.
  const line = jsonLine(obj(["failed", new TypeError("boom")], { type: "error" }));
  expect(JSON.parse(line)).toMatchObject({
    level: "error",
    msg: "failed",
    name: "TypeError",
    message: "boom",
  });
  expect(line).not.toContain("at ");
});

test("the log file rotates by size and keeps maxFiles old files", () => {
  const dir = mkdtempSync(join(tmpdir(), "ngb-log-"));
  dirs.push(dir);
  const file = join(dir, "ngb.log");
  const reporter = fileReporter(file, 200, 2);
  for (let i = 0; i < 20; i++) reporter.log(obj([`line ${i}`, { pad: "x".repeat(40) }]), {} as never);
  expect(existsSync(file)).toBe(true);
  expect(existsSync(`${file}.1`)).toBe(true);
  expect(existsSync(`${file}.2`)).toBe(true);
  expect(existsSync(`${file}.3`)).toBe(false);
  expect(readFileSync(file, "utf8")).toContain("line 19");
});

test("levels filter; silent drops everything", () => {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => {
    lines.push(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    const log = createLogger({ level: "warn" });
    log.info("hidden");
    log.warn("shown");
    createLogger({ level: "silent" }).error("never");
  } finally {
    process.stderr.write = write;
  }
  expect(lines.join("")).toContain("shown");
  expect(lines.join("")).not.toContain("hidden");
  expect(lines.join("")).not.toContain("never");
});

test("the log file and its rotations are 0600; a new directory is 0700; an open old file is tightened", () => {
  const dir = mkdtempSync(join(tmpdir(), "ngb-log-modes-"));
  dirs.push(dir);
  const file = join(dir, "logs", "ngb.log");
  const r = fileReporter(file, 200, 2);
  for (let i = 0; i < 10; i++) r.log(obj([`line ${i} ${"x".repeat(50)}`]), {} as never);
  expect(statSync(join(dir, "logs")).mode & 0o777).toBe(0o700);
  for (const f of [file, `${file}.1`, `${file}.2`]) expect(statSync(f).mode & 0o777).toBe(0o600);
  const old = join(dir, "old.log");
  writeFileSync(old, "before\n");
  chmodSync(old, 0o644);
  fileReporter(old, 1000, 2);
  expect(statSync(old).mode & 0o777).toBe(0o600);
});
