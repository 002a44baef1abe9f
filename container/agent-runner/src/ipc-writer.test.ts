import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ipcFileName, IpcWriteError, writeIpcFile } from "./ipc-writer.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-ipcw-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("writeIpcFile", () => {
  test("writes a validated request under a .json name, leaving no temp file", () => {
    const path = writeIpcFile(join(dir, "messages"), { type: "message", chatJid: "tg:1", text: "hello" });
    expect(basename(path)).toMatch(/^\d+-\d{6}-[0-9a-f]{6}\.json$/);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({
      type: "message",
      chatJid: "tg:1",
      text: "hello",
    });
    expect(readdirSync(join(dir, "messages"))).toEqual([basename(path)]);
  });

  test("drops undefined optionals and refuses invalid requests without writing", () => {
    const path = writeIpcFile(dir, { type: "pause_task", taskId: "t1" });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ type: "pause_task", taskId: "t1" });
    expect(() => writeIpcFile(dir, { type: "message", chatJid: "x", text: "" })).toThrow(IpcWriteError);
    expect(() =>
      writeIpcFile(dir, { type: "schedule_task", prompt: "p", scheduleType: "weekly", scheduleValue: "1" }),
    ).toThrow(/scheduleType/);
    expect(() => writeIpcFile(dir, { type: "rm -rf" })).toThrow(/invalid request/);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  test("names sort in write order", () => {
    const names = Array.from({ length: 50 }, () => ipcFileName(1700000000000));
    expect([...names].sort()).toEqual(names);
    expect(new Set(names).size).toBe(50);
  });
});
