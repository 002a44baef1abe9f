/**
 * stdout and stderr of the runner. stdout carries only AgentFrames between the protocol
 * markers, each written synchronously so it is flushed before the next event; diagnostics go
 * to stderr, one line each.
 */
import { writeSync } from "node:fs";
import {
  type AgentFrame,
  formatFrame,
  MAX_FRAME_BYTES,
  type ResultFrame,
} from "../../../src/protocol/index.ts";

export type FrameWriter = (frame: AgentFrame) => void;

const TRUNCATED = "\n[… truncated by ngb: too long for one result]";
const MAX_RESULT_CHARS = 1_000_000;
const MAX_ERROR_CHARS = 100_000;

function clip(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - TRUNCATED.length) + TRUNCATED;
}

/**
 * A result within the protocol's caps: the text within its character limit and the whole
 * frame within MAX_FRAME_BYTES (multi-byte text or JSON escapes can make it larger), cut with
 * a visible marker rather than refused by the host.
 */
export function fitResult(frame: ResultFrame, maxBytes = MAX_FRAME_BYTES): ResultFrame {
  let out: ResultFrame = {
    ...frame,
    result: frame.result === null ? null : clip(frame.result, MAX_RESULT_CHARS),
    ...(frame.error !== undefined ? { error: clip(frame.error, MAX_ERROR_CHARS) } : {}),
  };
  for (let size = Buffer.byteLength(JSON.stringify(out)); size > maxBytes; ) {
    const key = out.result !== null && out.result.length > TRUNCATED.length ? "result" : "error";
    const text = out[key];
    if (!text || text.length <= TRUNCATED.length) break;
    const keep = Math.max(0, Math.floor(text.length * (maxBytes / size) * 0.9) - TRUNCATED.length);
    out = { ...out, [key]: text.slice(0, keep) + TRUNCATED };
    size = Buffer.byteLength(JSON.stringify(out));
  }
  return out;
}

/** Writes one frame to `fd` synchronously. */
export function createFrameWriter(fd = 1): FrameWriter {
  return (frame) => {
    const buf = Buffer.from(formatFrame(frame.type === "result" ? fitResult(frame) : frame));
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(fd, buf, off);
      } catch (err) {
        // A non-blocking pipe that is full: retry until the host reads.
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      }
    }
  };
}

/** An error result that answers no input (bad start, missing proxy socket, a crash). */
export function errorResult(error: string, consumed: string[] = []): ResultFrame {
  return { type: "result", status: "error", result: null, consumed, error };
}

/** Diagnostics to stderr, one line each. */
export interface RunnerLog {
  info(msg: string, details?: Record<string, unknown>): void;
  warn(msg: string, details?: Record<string, unknown>): void;
  error(msg: string, details?: Record<string, unknown>): void;
}

export function createStderrLog(write: (line: string) => void = (l) => process.stderr.write(l)): RunnerLog {
  const line = (level: string) => (msg: string, details?: Record<string, unknown>) =>
    write(`[agent-runner] ${level} ${msg}${details ? ` ${JSON.stringify(details)}` : ""}\n`);
  return { info: line("info"), warn: line("warn"), error: line("error") };
}

export const silentRunnerLog: RunnerLog = { info() {}, warn() {}, error() {} };
