import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLOSE_SENTINEL } from "../../../src/protocol/index.ts";
import {
  clearStaleClose,
  createFollowUpReader,
  type FollowUpEvent,
  type FollowUpReader,
} from "./follow-ups.ts";
import type { RunnerLog } from "./io.ts";

let dir: string;
let reader: FollowUpReader | undefined;
const warnings: string[] = [];
const log: RunnerLog = {
  info() {},
  error() {},
  warn: (m, d) => void warnings.push(`${m} ${JSON.stringify(d)}`),
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-fu-"));
  warnings.length = 0;
});
afterEach(() => {
  reader?.stop();
  reader = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function drop(name: string, body: unknown) {
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, typeof body === "string" ? body : JSON.stringify(body));
  renameSync(tmp, join(dir, name));
}

function waitFor<T>(fn: () => T | undefined, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = fn();
      if (v) return resolve(v);
      if (Date.now() > deadline) return reject(new Error("timed out"));
      setTimeout(tick, 2);
    };
    tick();
  });
}

describe("follow-up reader", () => {
  test("files present at start are read in name order and deleted; bad ones are dropped with a warning", async () => {
    drop("0002.json", { type: "message", text: "second" });
    drop("0001.json", { type: "message", text: "first" });
    drop("0003.json", "{broken");
    drop("0004.json", { type: "message", text: "" });
    writeFileSync(join(dir, ".0005.json.tmp"), "partial");
    const events: FollowUpEvent[] = [];
    reader = createFollowUpReader({ dir, log, onEvent: (e) => events.push(e), rescanMs: 60_000 });
    await waitFor(() => events.length >= 2 && warnings.length >= 2);
    expect(events).toEqual([
      { type: "message", text: "first", file: "0001.json" },
      { type: "message", text: "second", file: "0002.json" },
    ]);
    expect(warnings.join("\n")).toContain("0003.json");
    expect(warnings.join("\n")).toContain("not JSON");
    expect(warnings.join("\n")).toContain("0004.json");
    expect(readdirSync(dir)).toEqual([".0005.json.tmp"]);
  });

  test("a file appearing later is picked up by the watcher, not the slow re-scan", async () => {
    const events: FollowUpEvent[] = [];
    reader = createFollowUpReader({ dir, log, onEvent: (e) => events.push(e), rescanMs: 60_000 });
    await new Promise((r) => setTimeout(r, 20));
    drop("a.json", { type: "message", text: "late" });
    // The re-scan runs once a minute here, so only the watcher can deliver within the deadline.
    await waitFor(() => events.length === 1 || undefined, 5000);
    expect(events[0]).toMatchObject({ type: "message", text: "late" });
  });

  test("_close is reported once, after the messages before it", async () => {
    const events: FollowUpEvent[] = [];
    drop("1.json", { type: "message", text: "last words" });
    writeFileSync(join(dir, CLOSE_SENTINEL), "");
    reader = createFollowUpReader({ dir, log, onEvent: (e) => events.push(e), rescanMs: 20 });
    await waitFor(() => events.length === 2 || undefined);
    await new Promise((r) => setTimeout(r, 60));
    expect(events.map((e) => e.type)).toEqual(["message", "close"]);
    expect(existsSync(join(dir, CLOSE_SENTINEL))).toBe(false);
  });

  test("files are left in place once the session stops accepting", async () => {
    const events: FollowUpEvent[] = [];
    let accepting = true;
    reader = createFollowUpReader({
      dir,
      log,
      onEvent: (e) => events.push(e),
      rescanMs: 20,
      accepting: () => accepting,
    });
    accepting = false;
    drop("1.json", { type: "message", text: "too late" });
    await new Promise((r) => setTimeout(r, 80));
    expect(events).toEqual([]);
    expect(readdirSync(dir)).toEqual(["1.json"]);
  });

  test("clearStaleClose removes a leftover _close", () => {
    expect(clearStaleClose(dir)).toBe(false);
    writeFileSync(join(dir, CLOSE_SENTINEL), "");
    expect(clearStaleClose(dir)).toBe(true);
    expect(existsSync(join(dir, CLOSE_SENTINEL))).toBe(false);
  });
});
