/**
 * A container's stderr, streamed into the group's per-run log file up to a cap, with the last
 * few KiB kept in memory for error messages.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { Logger } from "../log/index.ts";
import { errorMessage } from "../util/errors.ts";

const TAIL_BYTES = 4096;

export interface StderrLog {
  /** Resolves when the stream ended and the file is closed. */
  done: Promise<void>;
  /** The last few KiB of stderr seen so far. */
  tail(): string;
}

export function pipeStderr(
  stream: ReadableStream<Uint8Array>,
  opts: { file: string; maxBytes: number; log: Logger },
): StderrLog {
  let tail = "";
  const done = (async () => {
    let fd: number | undefined;
    try {
      fd = openSync(opts.file, "a", 0o640);
    } catch (err) {
      opts.log.warn("cannot open container log", { file: opts.file, error: errorMessage(err) });
    }
    let written = 0;
    let truncated = false;
    const decoder = new TextDecoder();
    try {
      const reader = stream.getReader();
      while (true) {
        const { done: end, value: chunk } = await reader.read();
        if (end) break;
        tail = (tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_BYTES);
        if (fd === undefined || truncated) continue;
        if (written + chunk.length > opts.maxBytes) {
          writeSync(fd, chunk.subarray(0, Math.max(0, opts.maxBytes - written)));
          writeSync(fd, `\n[ngb: log truncated at ${opts.maxBytes} bytes]\n`);
          truncated = true;
        } else writeSync(fd, chunk);
        written += chunk.length;
      }
    } catch (err) {
      opts.log.debug("stderr read failed", { file: opts.file, error: errorMessage(err) });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  })();
  return { done, tail: () => tail };
}
