import { describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OUTPUT_END, OUTPUT_START } from "../../../src/protocol/index.ts";
import { createOutputWriter, InputError, parseInput, readStdin } from "./io.ts";

const valid = { prompt: "hi", groupFolder: "main", chatJid: "web:1", isMain: true, assistantName: "Andy" };

describe("parseInput", () => {
  test("accepts a valid input and keeps optional fields", () => {
    const input = parseInput(JSON.stringify({ ...valid, sessionId: "s1", idleTimeoutMs: 5000, model: "m" }));
    expect(input).toMatchObject({ prompt: "hi", sessionId: "s1", idleTimeoutMs: 5000, model: "m" });
  });

  test("names what is wrong", () => {
    expect(() => parseInput("{not json")).toThrow(/stdin is not JSON/);
    expect(() => parseInput(JSON.stringify({ ...valid, prompt: 42 }))).toThrow(/at prompt/);
    expect(() => parseInput(JSON.stringify({ ...valid, groupFolder: "../etc" }))).toThrow(
      /groupFolder.*folder must be/,
    );
    expect(() => parseInput(JSON.stringify({ ...valid, isMain: undefined }))).toThrow(InputError);
    expect(() => parseInput("")).toThrow(InputError);
  });

  test("readStdin joins chunks", async () => {
    async function* chunks() {
      yield new TextEncoder().encode('{"a":');
      yield "1}";
    }
    expect(await readStdin(chunks())).toBe('{"a":1}');
  });
});

describe("createOutputWriter", () => {
  test("writes each record between the markers, one JSON line", () => {
    const dir = mkdtempSync(join(tmpdir(), "ngb-io-"));
    try {
      const file = join(dir, "out");
      const fd = openSync(file, "w");
      const write = createOutputWriter(fd);
      write({ status: "success", result: "a\nb", newSessionId: "s" });
      write({ status: "error", result: null, error: "boom" });
      closeSync(fd);
      const text = readFileSync(file, "utf8");
      expect(text).toBe(
        `${OUTPUT_START}\n{"status":"success","result":"a\\nb","newSessionId":"s"}\n${OUTPUT_END}\n` +
          `${OUTPUT_START}\n{"status":"error","result":null,"error":"boom"}\n${OUTPUT_END}\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
