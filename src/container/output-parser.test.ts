import { describe, expect, test } from "bun:test";
import { formatFrame, OUTPUT_END, OUTPUT_START, type ResultFrame } from "../protocol/index.ts";
import { createFrameParser as createOutputParser } from "./output-parser.ts";

const ok = (result: string): ResultFrame => ({ type: "result", status: "success", result, consumed: ["i1"] });
const formatOutput = formatFrame;

describe("output parser", () => {
  test("parses marker blocks and reports garbage around them", () => {
    const garbage: string[] = [];
    const p = createOutputParser({ onGarbage: (l) => garbage.push(l) });
    const out = p.push(`npm notice something\n${formatOutput(ok("one"))}noise\n${formatOutput(ok("two"))}`);
    expect(out).toEqual([ok("one"), ok("two")]);
    expect(garbage).toEqual(["npm notice something", "noise"]);
    expect(p.end()).toEqual({ frames: [], unterminated: false });
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

  test("bad JSON between markers is reported and dropped; parsing continues", () => {
    const invalid: string[] = [];
    const p = createOutputParser({ onInvalid: (r) => invalid.push(r) });
    const out = p.push(`${OUTPUT_START}\n{nope\n${OUTPUT_END}\n${formatOutput(ok("next"))}`);
    expect(out).toEqual([ok("next")]);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toContain("bad JSON");
  });

  test("valid JSON of the wrong shape is reported naming the key", () => {
    const invalid: string[] = [];
    const p = createOutputParser({ onInvalid: (r) => invalid.push(r) });
    const out = p.push(
      `${OUTPUT_START}\n{"type":"result","status":"maybe","result":null,"consumed":[]}\n${OUTPUT_END}\n`,
    );
    expect(out).toEqual([]);
    expect(invalid[0]).toContain("status");
  });

  test("request and activity frames parse; an unknown type is refused", () => {
    const invalid: string[] = [];
    const p = createOutputParser({ onInvalid: (r) => invalid.push(r) });
    const req = { type: "request", reqId: "r1", request: { type: "list_tasks" } } as const;
    const act = { type: "activity", kind: "tool", name: "Bash" } as const;
    const out = p.push(
      `${formatFrame(req)}${formatFrame(act)}${OUTPUT_START}\n{"type":"shell","cmd":"rm"}\n${OUTPUT_END}\n`,
    );
    expect(out).toEqual([req, act]);
    expect(invalid).toHaveLength(1);
  });

  test("a 50 MB line is skipped (bounded memory); the next frame still parses", () => {
    const invalid: string[] = [];
    const p = createOutputParser({ onInvalid: (r) => invalid.push(r), maxFrameBytes: 1024 * 1024 });
    const chunk = "x".repeat(64 * 1024);
    for (let i = 0; i < 800; i++) expect(p.push(chunk)).toEqual([]);
    expect(p.push(`\n${formatFrame(ok("after"))}`)).toEqual([ok("after")]);
    expect(invalid).toEqual([expect.stringContaining("skipped")]);
  });

  test("an oversized frame inside markers is dropped", () => {
    const invalid: string[] = [];
    const p = createOutputParser({ onInvalid: (r) => invalid.push(r), maxFrameBytes: 1000 });
    const big = { ...ok("y".repeat(2000)) };
    expect(p.push(`${formatFrame(big)}${formatFrame(ok("small"))}`)).toEqual([ok("small")]);
    expect(invalid.length).toBeGreaterThan(0);
  });

  test("a start marker inside an open block drops the open one", () => {
    const invalid: string[] = [];
    const p = createOutputParser({ onInvalid: (r) => invalid.push(r) });
    const out = p.push(`${OUTPUT_START}\n{"status":\n${formatOutput(ok("b"))}`);
    expect(out).toEqual([ok("b")]);
    expect(invalid).toEqual(["start marker inside an open block"]);
  });

  test("end of stream inside a block is reported as unterminated", () => {
    const p = createOutputParser();
    expect(p.push(`${OUTPUT_START}\n{"status":"success","result":"x"}\n`)).toEqual([]);
    expect(p.end().unterminated).toBe(true);
  });

  test("a final block without trailing newline is flushed at end", () => {
    const p = createOutputParser();
    expect(p.push(`${OUTPUT_START}\n${JSON.stringify(ok("z"))}\n${OUTPUT_END}`)).toEqual([]);
    expect(p.end()).toEqual({ frames: [ok("z")], unterminated: false });
  });
});
