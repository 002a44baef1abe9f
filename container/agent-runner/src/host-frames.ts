/**
 * The host's side of stdin: NDJSON lines, each one `HostFrame`. Lines are split on raw bytes
 * with a hard cap (MAX_FRAME_BYTES); an oversized or invalid line is skipped with a bounded
 * warning, never fatal — except the first frame, which must be a valid `start`.
 */
import * as v from "valibot";
import {
  type ContainerInput,
  HostFrame,
  type InputFrame,
  MAX_FRAME_BYTES,
  type ProxyStreamFrame,
  type ReplyFrame,
} from "../../../src/protocol/index.ts";
import type { RunnerLog } from "./io.ts";

export class StartError extends Error {
  override name = "StartError";
}

/** One stdin line: a valid frame, or why the line was refused. */
export type FrameLine = { frame: HostFrame } | { invalid: string; bytes: number };

/** Splits a byte stream into lines of at most `maxBytes` (an oversized line is one marker). */
export async function* splitLines(
  stream: AsyncIterable<Uint8Array | string>,
  maxBytes = MAX_FRAME_BYTES,
): AsyncGenerator<{ line: string } | { oversize: number }> {
  let parts: Buffer[] = [];
  let size = 0;
  let oversize = 0; // > 0 while skipping the rest of a line that is too long
  const take = (piece: Buffer) => {
    if (oversize > 0) oversize += piece.length;
    else if (size + piece.length > maxBytes) {
      oversize = size + piece.length;
      parts = [];
      size = 0;
    } else if (piece.length > 0) {
      parts.push(Buffer.from(piece)); // a copy: the stream may reuse its chunk
      size += piece.length;
    }
  };
  const flush = () => {
    const out = oversize > 0 ? { oversize } : { line: Buffer.concat(parts, size).toString("utf8") };
    parts = [];
    size = 0;
    oversize = 0;
    return out;
  };
  for await (const chunk of stream) {
    const buf =
      typeof chunk === "string"
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      take(buf.subarray(start, nl));
      start = nl + 1;
      yield flush();
    }
    take(buf.subarray(start));
  }
  if (size > 0 || oversize > 0) yield flush();
}

const describe = (issues: v.BaseIssue<unknown>[]): string => {
  const issue = issues[0];
  const where = issue ? v.getDotPath(issue) : undefined;
  return `${where ? `at ${where}: ` : ""}${issue?.message ?? "unknown problem"}`.slice(0, 300);
};

/** Parses one line; throws a short reason (never the line itself) when it is not a frame. */
export function parseHostFrame(line: string): HostFrame {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  const parsed = v.safeParse(HostFrame, raw);
  if (!parsed.success) throw new Error(`not a host frame ${describe(parsed.issues)}`);
  return parsed.output;
}

/** The frames of stdin, blank lines skipped. */
export async function* readHostFrames(
  stream: AsyncIterable<Uint8Array | string>,
  maxBytes = MAX_FRAME_BYTES,
): AsyncGenerator<FrameLine> {
  for await (const item of splitLines(stream, maxBytes)) {
    if ("oversize" in item) {
      yield { invalid: `line longer than ${maxBytes} bytes`, bytes: item.oversize };
      continue;
    }
    const line = item.line.endsWith("\r") ? item.line.slice(0, -1) : item.line;
    if (!line.trim()) continue;
    try {
      yield { frame: parseHostFrame(line) };
    } catch (err) {
      yield { invalid: (err as Error).message, bytes: Buffer.byteLength(line) };
    }
  }
}

/** Reads the first frame, which must be a valid `start`; throws StartError naming the problem. */
export async function readStart(frames: AsyncIterator<FrameLine>): Promise<ContainerInput> {
  let first: IteratorResult<FrameLine>;
  try {
    first = await frames.next();
  } catch (err) {
    throw new StartError(`reading stdin failed: ${(err as Error).message}`);
  }
  if (first.done) throw new StartError("stdin ended before the start frame");
  const item = first.value;
  if ("invalid" in item) throw new StartError(`the first frame is invalid: ${item.invalid}`);
  if (item.frame.type !== "start")
    throw new StartError(`the first frame must be "start", got "${item.frame.type}"`);
  return item.frame.input;
}

export interface FrameHandlers {
  input(frame: InputFrame): void;
  close(): void;
  reply(frame: ReplyFrame): void;
  /** Model traffic over stdio (only when the stdio forwarder runs). */
  proxy?(frame: ProxyStreamFrame): void;
  /** stdin ended (or failed): the host is gone. */
  end(reason: string): void;
}

/** Warnings about bad lines stop after this many (then one summary line at the end). */
const MAX_WARNINGS = 10;

/** Dispatches the frames after `start` until stdin ends. Never throws. */
export async function pumpFrames(
  frames: AsyncIterator<FrameLine>,
  handlers: FrameHandlers,
  log: RunnerLog,
): Promise<void> {
  let bad = 0;
  let reason = "stdin closed";
  try {
    for (let next = await frames.next(); !next.done; next = await frames.next()) {
      const item = next.value;
      if ("invalid" in item) {
        bad++;
        if (bad <= MAX_WARNINGS) log.warn("stdin line skipped", { reason: item.invalid, bytes: item.bytes });
        if (bad === MAX_WARNINGS) log.warn("further bad stdin lines are counted, not logged");
        continue;
      }
      const frame = item.frame;
      try {
        if (frame.type === "input") handlers.input(frame);
        else if (frame.type === "close") handlers.close();
        else if (frame.type === "reply") handlers.reply(frame);
        else if (frame.type === "proxy_data" || frame.type === "proxy_end" || frame.type === "proxy_ack") {
          if (handlers.proxy) handlers.proxy(frame);
          else if (++bad <= MAX_WARNINGS) log.warn("stdin: a proxy frame without the stdio transport");
        } else log.warn("stdin: a second start frame was ignored");
      } catch (err) {
        log.error("stdin frame handler failed", { type: frame.type, error: (err as Error).message });
      }
    }
  } catch (err) {
    reason = `reading stdin failed: ${(err as Error).message}`;
  }
  if (bad > MAX_WARNINGS) log.warn("stdin lines skipped in total", { count: bad });
  handlers.end(reason);
}
