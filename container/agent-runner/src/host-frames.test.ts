import { describe, expect, test } from "bun:test";
import {
  type FrameLine,
  pumpFrames,
  readHostFrames,
  readStart,
  splitLines,
  StartError,
} from "./host-frames.ts";
import type { RunnerLog } from "./io.ts";

const start = {
  type: "start",
  input: {
    prompt: "hi",
    inputId: "m1",
    groupFolder: "main",
    chatJid: "web:1",
    isMain: true,
    assistantName: "Andy",
  },
};
const line = (x: unknown) => `${JSON.stringify(x)}\n`;

async function* chunks(...parts: (string | Uint8Array)[]) {
  for (const p of parts) yield p;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function recordingLog() {
  const lines: string[] = [];
  const log: RunnerLog = {
    info: (m, d) => void lines.push(`info ${m} ${JSON.stringify(d ?? {})}`),
    warn: (m, d) => void lines.push(`warn ${m} ${JSON.stringify(d ?? {})}`),
    error: (m, d) => void lines.push(`error ${m} ${JSON.stringify(d ?? {})}`),
  };
  return { log, lines };
}

describe("splitLines", () => {
  test("lines split across chunks and multi-byte characters split across chunks come out whole", async () => {
    const bytes = new TextEncoder().encode("héllo\nwörld\n");
    const out = await collect(
      splitLines(chunks(bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9), "tail")),
    );
    expect(out).toEqual([{ line: "héllo" }, { line: "wörld" }, { line: "tail" }]);
  });

  test("a line over the cap is one oversize marker and the next line is read normally", async () => {
    const out = await collect(splitLines(chunks("aaaa", "aaaa\nok\n", "bbbbbbbbbbbb"), 6));
    expect(out).toEqual([{ oversize: 8 }, { line: "ok" }, { oversize: 12 }]);
  });
});

describe("readHostFrames", () => {
  test("valid frames, with blank lines, CRLF, invalid JSON, unknown types and bad fields", async () => {
    const out = await collect(
      readHostFrames(
        chunks(
          line(start),
          "\n  \n",
          `${JSON.stringify({ type: "close" })}\r\n`,
          "{nope\n",
          line({ type: "shutdown" }),
          line({ type: "input", id: "", text: "x" }),
          line({ type: "reply", reqId: "r1", ok: true, text: "fine" }),
        ),
      ),
    );
    expect(out.map((f) => ("frame" in f ? f.frame.type : `invalid: ${f.invalid}`))).toEqual([
      "start",
      "close",
      expect.stringMatching(/^invalid: not JSON/),
      expect.stringMatching(/^invalid: not a host frame at type/),
      expect.stringMatching(/^invalid: not a host frame at id/),
      "reply",
    ]);
  });
});

describe("readStart", () => {
  const first = (...parts: string[]) => readStart(readHostFrames(chunks(...parts))[Symbol.asyncIterator]());

  test("returns the start frame's input", async () => {
    expect(await first(line(start))).toEqual(start.input);
  });

  test("stdin ending, a non-start first frame or an invalid one is a StartError naming it", async () => {
    await expect(first()).rejects.toThrow(new StartError("stdin ended before the start frame"));
    await expect(first(line({ type: "close" }), line(start))).rejects.toThrow(
      'the first frame must be "start", got "close"',
    );
    await expect(first(line({ ...start, input: { ...start.input, groupFolder: "../etc" } }))).rejects.toThrow(
      /the first frame is invalid: not a host frame at input.groupFolder: folder must be/,
    );
    await expect(first(line({ ...start, input: { ...start.input, prompt: "" } }))).rejects.toThrow(
      /input.prompt/,
    );
    await expect(first("garbage\n")).rejects.toThrow(StartError);
  });
});

describe("pumpFrames", () => {
  async function pump(...parts: string[]) {
    const got: string[] = [];
    const { log, lines } = recordingLog();
    await pumpFrames(
      readHostFrames(chunks(...parts), 200)[Symbol.asyncIterator](),
      {
        input: (f) => void got.push(`input ${f.id} ${f.text} ${f.thread ?? "-"}`),
        close: () => void got.push("close"),
        reply: (f) => void got.push(`reply ${f.reqId} ${f.ok} ${f.text}`),
        end: (reason) => void got.push(`end ${reason}`),
      },
      log,
    );
    return { got, lines };
  }

  test("dispatches each frame in order and reports the end of stdin", async () => {
    const { got, lines } = await pump(
      line({ type: "input", id: "m2", text: "two", thread: "t1" }),
      line({ type: "reply", reqId: "r1", ok: false, text: "refused" }),
      line(start),
      line({ type: "close" }),
    );
    expect(got).toEqual(["input m2 two t1", "reply r1 false refused", "close", "end stdin closed"]);
    expect(lines).toEqual([expect.stringContaining("second start frame was ignored")]);
  });

  test("bad lines are skipped with bounded warnings that never echo the line", async () => {
    const bad = Array.from({ length: 25 }, (_, i) => `{"secret": "hunter${i}"\n`);
    const { got, lines } = await pump(...bad, `${"x".repeat(500)}\n`, line({ type: "close" }));
    expect(got).toEqual(["close", "end stdin closed"]);
    expect(lines).toHaveLength(12); // 10 warnings, the "counted, not logged" notice, the total
    expect(lines.at(-1)).toContain('"count":26');
    expect(lines.join("\n")).not.toContain("hunter");
  });

  test("a throwing handler is logged and the pump goes on", async () => {
    const got: string[] = [];
    const { log, lines } = recordingLog();
    await pumpFrames(
      readHostFrames(chunks(line({ type: "close" }), line({ type: "input", id: "a", text: "x" })))[
        Symbol.asyncIterator
      ](),
      {
        input: () => void got.push("input"),
        close: () => {
          throw new Error("oops");
        },
        reply: () => {},
        end: () => void got.push("end"),
      },
      log,
    );
    expect(got).toEqual(["input", "end"]);
    expect(lines[0]).toContain("oops");
  });

  test("a failing stdin ends the pump with the reason", async () => {
    async function* failing(): AsyncGenerator<string> {
      yield line({ type: "close" });
      throw new Error("EIO");
    }
    const ends: string[] = [];
    const it: AsyncIterator<FrameLine> = readHostFrames(failing())[Symbol.asyncIterator]();
    await pumpFrames(
      it,
      { input() {}, close() {}, reply() {}, end: (r) => void ends.push(r) },
      recordingLog().log,
    );
    expect(ends).toEqual(["reading stdin failed: EIO"]);
  });
});
