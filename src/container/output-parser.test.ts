import { describe, expect, test } from "bun:test";
import { formatOutput, OUTPUT_END, OUTPUT_START } from "../protocol/index.ts";
import { createOutputParser } from "./output-parser.ts";

const ok = (result: string) => ({ status: "success" as const, result });

describe("output parser", () => {
  test("parses marker blocks and reports garbage around them", () => {
    const garbage: string[] = [];
    const p = createOutputParser({ onGarbage: (l) => garbage.push(l) });
    const out = p.push(`npm notice something\n${formatOutput(ok("one"))}noise\n${formatOutput(ok("two"))}`);
    expect(out).toEqual([ok("one"), ok("two")]);
    expect(garbage).toEqual(["npm notice something", "noise"]);
    expect(p.end()).toEqual({ outputs: [], unterminated: false });
  });

  test("handles blocks split across arbitrary chunk boundaries, including inside UTF-8", () => {
    const text = `x\r\n${formatOutput({ ...ok("héllo ✓"), newSessionId: "s" })}`;
    const bytes = new TextEncoder().encode(text);
    const p = createOutputParser();
    const out = [];
    for (let i = 0; i < bytes.length; i++) out.push(...p.push(bytes.subarray(i, i + 1)));
    expect(out).toEqual([{ ...ok("héllo ✓"), newSessionId: "s" }]);
  });

  test("a marker after text without a newline is still found", () => {
    const p = createOutputParser();
    expect(p.push(`partial line${OUTPUT_START}\n${JSON.stringify(ok("a"))}\n${OUTPUT_END}\n`)).toEqual([
      ok("a"),
    ]);
  });

  test("bad JSON between markers becomes an error output and parsing continues", () => {
    const invalid: string[] = [];
    const p = createOutputParser({ onInvalid: (r) => invalid.push(r) });
    const out = p.push(`${OUTPUT_START}\n{nope\n${OUTPUT_END}\n${formatOutput(ok("next"))}`);
    expect(out[0]?.status).toBe("error");
    expect(out[0]?.error).toContain("bad JSON");
    expect(out[1]).toEqual(ok("next"));
    expect(invalid).toHaveLength(1);
  });

  test("valid JSON of the wrong shape is an error output naming the key", () => {
    const p = createOutputParser();
    const [out] = p.push(`${OUTPUT_START}\n{"status":"maybe","result":null}\n${OUTPUT_END}\n`);
    expect(out?.status).toBe("error");
    expect(out?.error).toContain("status");
  });

  test("a start marker inside an open block drops the open one", () => {
    const p = createOutputParser();
    const out = p.push(`${OUTPUT_START}\n{"status":\n${formatOutput(ok("b"))}`);
    expect(out.map((o) => o.status)).toEqual(["error", "success"]);
    expect(out[1]).toEqual(ok("b"));
  });

  test("end of stream inside a block is reported as unterminated", () => {
    const p = createOutputParser();
    expect(p.push(`${OUTPUT_START}\n{"status":"success","result":"x"}\n`)).toEqual([]);
    expect(p.end().unterminated).toBe(true);
  });

  test("a final block without trailing newline is flushed at end", () => {
    const p = createOutputParser();
    expect(p.push(`${OUTPUT_START}\n${JSON.stringify(ok("z"))}\n${OUTPUT_END}`)).toEqual([]);
    expect(p.end()).toEqual({ outputs: [ok("z")], unterminated: false });
  });
});
