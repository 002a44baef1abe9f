/**
 * Entry point of the agent container: reads the ContainerInput from stdin, runs the session,
 * exits with its code. Invalid input prints an error record between the markers and exits 1.
 */
import { loadRunnerConfig } from "./config.ts";
import { createOutputWriter, createStderrLog, InputError, parseInput, readStdin } from "./io.ts";
import { runAgent } from "./runner.ts";

async function main(): Promise<number> {
  const log = createStderrLog();
  const write = createOutputWriter();
  let input: ReturnType<typeof parseInput>;
  try {
    input = parseInput(await readStdin());
  } catch (err) {
    const message =
      err instanceof InputError ? err.message : `reading stdin failed: ${(err as Error).message}`;
    log.error(message);
    write({ status: "error", result: null, error: message });
    return 1;
  }
  const config = loadRunnerConfig();
  return runAgent({
    config,
    input,
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
