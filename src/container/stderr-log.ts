/**
 * A container's stderr, streamed into a host-only per-run log file (an fd the caller opened with
 * no-follow semantics) up to a cap, with the last few KiB kept in memory for error messages.
 */
import { writeSync } from "node:fs";
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
  opts: { fd: number | undefined; maxBytes: number; log: Logger; onData?: () => void },
): StderrLog {
  let tail = "";
  const done = (async () => {
    const fd = opts.fd;
    let written = 0;
    let truncated = false;
    const decoder = new TextDecoder();
    try {
      const reader = stream.getReader();
      while (true) {
        const { done: end, value: chunk } = await reader.read();
        if (end) break;
        opts.onData?.();
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
      opts.log.debug("stderr read failed", { error: errorMessage(err) });
    }
  })();
  return { done, tail: () => tail };
}
