import { describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { AgentFrame, OUTPUT_END, OUTPUT_START, type ResultFrame } from "../../../src/protocol/index.ts";
import { createFrameWriter, errorResult, fitResult } from "./io.ts";

describe("createFrameWriter", () => {
  test("writes each frame between the markers, one JSON line", () => {
    const dir = mkdtempSync(join(tmpdir(), "ngb-io-"));
    try {
      const file = join(dir, "out");
      const fd = openSync(file, "w");
      const write = createFrameWriter(fd);
      write({ type: "result", status: "success", result: "a\nb", consumed: ["m1"], newSessionId: "s" });
      write(errorResult("boom"));
      write({ type: "activity", kind: "tool", name: "Bash" });
      closeSync(fd);
      expect(readFileSync(file, "utf8")).toBe(
        `${OUTPUT_START}\n{"type":"result","status":"success","result":"a\\nb","consumed":["m1"],"newSessionId":"s"}\n${OUTPUT_END}\n` +
          `${OUTPUT_START}\n{"type":"result","status":"error","result":null,"consumed":[],"error":"boom"}\n${OUTPUT_END}\n` +
          `${OUTPUT_START}\n{"type":"activity","kind":"tool","name":"Bash"}\n${OUTPUT_END}\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fitResult", () => {
  const big = (result: string): ResultFrame => ({
    type: "result",
    status: "success",
    result,
    consumed: ["a"],
  });

  test("a short result is unchanged", () => {
    expect(fitResult(big("hello"))).toEqual(big("hello"));
  });

  test("an over-long result is cut with a marker to the protocol's character cap", () => {
    const out = fitResult(big("x".repeat(1_200_000)));
    expect(out.result?.length).toBe(1_000_000);
    expect(out.result).toEndWith("[… truncated by ngb: too long for one result]");
    expect(v.is(AgentFrame, out)).toBe(true);
  });

  test("multi-byte text is cut to fit the frame's byte cap", () => {
    const out = fitResult(big("界".repeat(900_000)), 2 * 1024 * 1024);
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(out.result?.length).toBeGreaterThan(500_000);
    expect(out.consumed).toEqual(["a"]);
    const err = fitResult({ ...errorResult("e".repeat(200_000)) });
    expect(err.error?.length).toBe(100_000);
  });
});
