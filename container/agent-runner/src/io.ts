/**
 * stdin/stdout of the runner: one ContainerInput JSON object in, ContainerOutput records out
 * between the protocol markers. stdout carries nothing else; diagnostics go to stderr.
 */
import { writeSync } from "node:fs";
import * as v from "valibot";
import { ContainerInput, type ContainerOutput, formatOutput } from "../../../src/protocol/index.ts";

export class InputError extends Error {
  override name = "InputError";
}

/** Parses and validates the stdin text; throws InputError naming what was wrong. */
export function parseInput(text: string): ContainerInput {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(`stdin is not JSON: ${(err as Error).message}`);
  }
  const parsed = v.safeParse(ContainerInput, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue ? v.getDotPath(issue) : undefined;
    throw new InputError(
      `invalid input${where ? ` at ${where}` : ""}: ${issue?.message ?? "unknown problem"}`,
    );
  }
  return parsed.output;
}

/** Reads all of stdin as text. */
export async function readStdin(stream: AsyncIterable<Uint8Array | string> = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

export type OutputWriter = (out: ContainerOutput) => void;

/** Writes one output record to fd 1 synchronously, so it is flushed before the next event. */
export function createOutputWriter(fd = 1): OutputWriter {
  return (out) => {
    const buf = Buffer.from(formatOutput(out));
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
