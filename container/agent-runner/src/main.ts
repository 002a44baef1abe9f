/**
 * Entry point of the agent container: reads the `start` frame from stdin, runs the session
 * with the rest of stdin as its host frames, exits with its code. A missing or invalid start
 * prints one error result (consumed: []) and exits 1.
 */
import { loadRunnerConfig } from "./config.ts";
import { readHostFrames, readStart, StartError } from "./host-frames.ts";
import { createFrameWriter, createStderrLog, errorResult } from "./io.ts";
import { runAgent } from "./runner.ts";

async function main(): Promise<number> {
  // Files the runner and the CLI create are group-writable: the host shares the group and
  // manages the group folder and the session dir.
  process.umask(0o002);
  const log = createStderrLog();
  const write = createFrameWriter();
  const frames = readHostFrames(process.stdin)[Symbol.asyncIterator]();
  let input: Awaited<ReturnType<typeof readStart>>;
  try {
    input = await readStart(frames);
  } catch (err) {
    const message =
      err instanceof StartError ? err.message : `reading stdin failed: ${(err as Error).message}`;
    log.error(message);
    write(errorResult(message));
    return 1;
  }
  const config = loadRunnerConfig();
  return runAgent({
    config,
    input,
    frames,
    write,
    log,
    onSession(session, abort) {
      const stop = (signal: string) => {
        log.warn(`${signal}: ending the session`);
        session.end();
        abort.abort();
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    },
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`[agent-runner] fatal ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
