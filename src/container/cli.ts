/**
 * Plumbing for the container CLI: the spawn seam tests replace, short commands with a deadline,
 * and turning a failed command's exit code and stderr into one clear sentence.
 */
import { errorMessage } from "../util/errors.ts";

export interface SpawnedProcess {
  readonly stdin: { write(data: string | Uint8Array): unknown; flush?(): unknown; end(): unknown };
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<number>;
  kill(signal?: number): void;
}

export type SpawnFn = (cmd: string[], options: { env: Record<string, string | undefined> }) => SpawnedProcess;

export const bunSpawn: SpawnFn = (cmd, { env }) =>
  Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "pipe", env });

export function engineError(detail: string): string {
  return `container engine not reachable: ${detail}, run ngb doctor`;
}

const ENGINE_DOWN =
  /cannot connect to the docker daemon|error during connect|connection refused|no such file or directory.*\.sock|is the docker daemon running|unexpected EOF|connection reset by peer|broken pipe/i;

/** The CLI's stderr says the engine itself could not be reached (not the container's fault). */
export function isEngineFailure(stderr: string): boolean {
  return ENGINE_DOWN.test(stderr);
}

/** Classifies a failed `docker …` by its exit code and stderr. */
export function describeDockerFailure(code: number | null, stderr: string, image: string): string | null {
  const line =
    stderr
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? "";
  if (code !== 0 && isEngineFailure(stderr)) {
    // The agent's own log lines come first on stderr: name the CLI's line about the engine.
    const engineLine =
      stderr
        .split("\n")
        .find((l) => ENGINE_DOWN.test(l))
        ?.trim() ?? line;
    return engineError(engineLine.slice(0, 300));
  }
  if (
    code === 125 &&
    /unable to find image|no such image|pull access denied|repository does not exist/i.test(stderr)
  )
    return `image ${image} not found: build it with ngb image build`;
  if (code === 125 || code === 126 || code === 127)
    return `docker run failed (exit ${code}): ${line.slice(0, 300)}`;
  return null;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The binary could not be started at all (not installed, not executable). */
  spawnFailed: boolean;
}

/** Runs a short CLI command (`ps`, `rm -f`) with a deadline; never throws. */
export async function execCli(
  spawn: SpawnFn,
  cmd: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 30_000,
): Promise<ExecResult> {
  let p: SpawnedProcess;
  try {
    p = spawn(cmd, { env });
  } catch (err) {
    return { code: -1, stdout: "", stderr: errorMessage(err), spawnFailed: true };
  }
  p.stdin.end();
  const timer = setTimeout(() => p.kill(9), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr, spawnFailed: false };
}

/** Like execCli, with `input` written to the command's stdin first. */
export async function execCliInput(
  spawn: SpawnFn,
  cmd: string[],
  env: Record<string, string | undefined>,
  input?: string,
  timeoutMs = 30_000,
): Promise<ExecResult> {
  let p: SpawnedProcess;
  try {
    p = spawn(cmd, { env });
  } catch (err) {
    return { code: -1, stdout: "", stderr: errorMessage(err), spawnFailed: true };
  }
  try {
    if (input !== undefined) p.stdin.write(input);
    p.stdin.end();
  } catch {
    // gone already: the exit code says why
  }
  const timer = setTimeout(() => p.kill(9), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr, spawnFailed: false };
}
