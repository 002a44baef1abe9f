/**
 * AgentRunner over the docker CLI (docker or podman; the child inherits the environment, so
 * DOCKER_HOST and docker contexts work). Owns one container's life: start, stdin input, the
 * streamed marker output, follow-ups, idle close, hard timeout, output cap and stderr log.
 * Containers are named and labelled so they can always be removed with `docker rm -f`.
 */
import { randomHex } from "../util/crypto.ts";
import { closeSync, existsSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { childEnv, type Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { ResolvedMount } from "../mounts/index.ts";
import { CLOSE_SENTINEL, type ContainerOutput, type FollowUpInput } from "../protocol/index.ts";
import { errorMessage } from "../util/errors.ts";
import { buildRunArgs, hostDirs, LABELS, prepareHostDirs, type RunnerPaths } from "./args.ts";
import {
  bunSpawn,
  describeDockerFailure,
  engineError,
  execCli,
  type SpawnedProcess,
  type SpawnFn,
} from "./cli.ts";
import { resolveExtraMounts } from "./extra-mounts.ts";
import { createOutputParser } from "./output-parser.ts";
import { pipeStderr } from "./stderr-log.ts";
import type {
  AgentProcess,
  AgentRunner,
  AgentRunRequest,
  AgentRunResult,
  RunningContainer,
} from "./types.ts";

/** What the runner needs from the credential proxy. */
export interface ProxyTokens {
  readonly socketPath: string;
  issue(groupFolder: string): string;
  revoke(token: string): void;
}

export interface DockerRunnerOptions {
  config: Pick<Config, "container">;
  log: Logger;
  paths: RunnerPaths;
  proxy: ProxyTokens;
  instanceId: string;
  spawn?: SpawnFn;
  clock?: () => number;
  /** Environment for the CLI (default: the host's, so DOCKER_HOST is honoured). */
  env?: Record<string, string | undefined>;
  /** After `_close`, how long a container may take to exit before `rm -f`. Default 30 s. */
  closeGraceMs?: number;
  /** Cap for the per-run stderr log file. Default 5 MiB. */
  maxStderrBytes?: number;
}

/** Same rule as the protocol's GroupFolder: a folder can never climb out of groupsDir. */
const SAFE_FOLDER = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A process that never started: `done` is already the error (the caller's flow stays the same). */
function failedProcess(request: AgentRunRequest, error: string): AgentProcess {
  const startedAt = Date.now();
  return {
    name: `ngb-${request.group.folder}-failed`,
    groupFolder: request.group.folder,
    startedAt,
    sendFollowUp: async () => false,
    close() {},
    async kill() {},
    done: Promise.resolve({ status: "error", error, exitCode: null, durationMs: 0, outputs: 0 }),
  };
}

export function createDockerRunner(options: DockerRunnerOptions): AgentRunner {
  const { config, paths, proxy, instanceId } = options;
  const log = options.log.withTag("container");
  const spawn = options.spawn ?? bunSpawn;
  const now = options.clock ?? Date.now;
  const bin = config.container.runtime;
  const closeGraceMs = options.closeGraceMs ?? 30_000;
  const maxStderr = options.maxStderrBytes ?? 5 * 1024 * 1024;
  const live = new Map<string, { info: RunningContainer; proc: AgentProcess }>();
  let followSeq = 0;

  function env(extra: Record<string, string> = {}) {
    return { ...(options.env ?? childEnv()), ...extra };
  }

  const exec = (args: string[]) => execCli(spawn, [bin, ...args], env());

  async function remove(name: string): Promise<void> {
    const r = await exec(["rm", "-f", name]);
    if (r.code !== 0 && !/no such container/i.test(r.stderr))
      log.warn("rm -f failed", { name, error: r.stderr.trim().slice(0, 200) });
  }

  async function start(request: AgentRunRequest): Promise<AgentProcess> {
    const { group } = request;
    const folder = group.folder;
    const name = `ngb-${folder}-${randomHex(4)}`;
    const startedAt = now();
    const c = config.container;
    const timeoutMs = group.containerConfig?.timeoutMs ?? c.timeoutMs;
    const dirs = hostDirs(paths, folder);
    if (!SAFE_FOLDER.test(folder))
      return failedProcess(request, `refusing to run: unsafe group folder "${folder}"`);

    let state: "running" | "closing" | "exited" = "running";
    let busy = true;
    let outputs = 0;
    let newSessionId: string | undefined;
    let stopReason: { status: "error" | "timeout" | "closed"; error?: string } | undefined;
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    let hardTimer: ReturnType<typeof setTimeout> | undefined;
    let token: string | undefined;
    const followUps: string[] = [];
    let resolveDone!: (r: AgentRunResult) => void;
    const done = new Promise<AgentRunResult>((r) => {
      resolveDone = r;
    });
    let child: SpawnedProcess | undefined;
    let removing: Promise<void> | undefined;
    let abandon!: () => void;
    const abandoned = new Promise<null>((r) => {
      abandon = () => r(null);
    });

    const finish = (status: AgentRunResult["status"], exitCode: number | null, error?: string) => {
      if (state === "exited" && !live.has(name)) return;
      state = "exited";
      clearTimeout(idleTimer);
      clearTimeout(graceTimer);
      clearTimeout(hardTimer);
      if (token) proxy.revoke(token);
      live.delete(name);
      let unconsumed = 0;
      for (const f of followUps) {
        if (existsSync(f)) {
          unconsumed++;
          rmSync(f, { force: true });
        }
      }
      const result: AgentRunResult = {
        status,
        exitCode,
        durationMs: now() - startedAt,
        outputs,
        ...(newSessionId ? { newSessionId } : {}),
        ...(error ? { error } : {}),
        ...(unconsumed ? { unconsumedFollowUps: unconsumed } : {}),
      };
      log.debug("container done", { name, status, exitCode, outputs, durationMs: result.durationMs });
      resolveDone(result);
    };

    const removeNow = (): Promise<void> => {
      removing ??= remove(name).finally(() => {
        try {
          child?.kill(9);
        } catch {
          // already gone
        }
      });
      return removing;
    };

    const writeClose = () => {
      try {
        writeAtomic(join(dirs.input, CLOSE_SENTINEL), "");
      } catch (err) {
        log.warn("cannot write _close", { name, error: errorMessage(err) });
      }
    };

    const startGrace = () => {
      clearTimeout(graceTimer);
      graceTimer = setTimeout(() => {
        if (state === "exited") return;
        log.info("container did not exit after _close, removing", { name });
        stopReason ??= { status: "closed" };
        void removeNow();
      }, closeGraceMs);
    };

    const beginClose = () => {
      if (state !== "running") return;
      state = "closing";
      clearTimeout(idleTimer);
      writeClose();
      if (!busy) startGrace();
    };

    const armIdle = () => {
      clearTimeout(idleTimer);
      if (state !== "running") return;
      idleTimer = setTimeout(() => {
        log.debug("idle timeout, closing", { name });
        beginClose();
      }, c.idleTimeoutMs);
    };

    const proc: AgentProcess = {
      name,
      groupFolder: folder,
      startedAt,
      done,
      async sendFollowUp(text: string) {
        if (state !== "running") return false;
        const body: FollowUpInput = { type: "message", text };
        const file = join(
          dirs.input,
          `${String(now()).padStart(13, "0")}-${String(++followSeq).padStart(6, "0")}.json`,
        );
        try {
          writeAtomic(file, JSON.stringify(body));
        } catch (err) {
          log.warn("follow-up write failed", { name, error: errorMessage(err) });
          return false;
        }
        followUps.push(file);
        busy = true;
        clearTimeout(idleTimer);
        return true;
      },
      close() {
        beginClose();
      },
      async kill(reason: string) {
        if (state === "exited") return;
        stopReason ??= { status: "error", error: `stopped: ${reason}` };
        state = "closing";
        await removeNow();
        const giveUp = setTimeout(abandon, closeGraceMs);
        await done;
        clearTimeout(giveUp);
      },
    };

    live.set(name, { info: { name, groupFolder: folder, chatJid: request.input.chatJid, startedAt }, proc });

    let mounts: ResolvedMount[];
    try {
      prepareHostDirs(dirs, c.user);
      mounts = resolveExtraMounts(request.group, config.container.mountAllowlistPath, log);
      token = proxy.issue(folder);
    } catch (err) {
      finish("error", null, `cannot prepare container directories: ${errorMessage(err)}`);
      return proc;
    }
    const args = buildRunArgs({
      name,
      group,
      container: c,
      dirs,
      paths,
      instanceId,
      proxySocketDir: dirname(proxy.socketPath),
      proxyToken: true,
      extraMounts: mounts,
    });

    try {
      child = spawn([bin, ...args], { env: env({ NGB_PROXY_TOKEN: token }) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const detail = code === "ENOENT" ? `"${bin}" not found on PATH` : errorMessage(err);
      log.error(engineError(detail), { name });
      finish("error", null, engineError(detail));
      return proc;
    }
    const p = child;
    log.debug("container started", { name, group: folder, mounts: mounts.length });

    hardTimer = setTimeout(() => {
      if (state === "exited") return;
      log.warn("container timed out, removing", { name, timeoutMs });
      stopReason = { status: "timeout", error: `timed out after ${Math.round(timeoutMs / 1000)} s` };
      // If delivery (onOutput) itself hangs, stop waiting for it a grace period after removal.
      void removeNow().then(() => setTimeout(abandon, closeGraceMs));
    }, timeoutMs);

    // A container that dies before reading stdin must not turn into an unhandled rejection.
    const stdinFailed = (err: unknown) => log.debug("stdin write failed", { name, error: errorMessage(err) });
    try {
      for (const r of [p.stdin.write(JSON.stringify(request.input)), p.stdin.end()])
        if (r instanceof Promise) r.catch(stdinFailed);
    } catch (err) {
      stdinFailed(err);
    }

    // stderr: streamed to the group's log file (capped), with a small tail kept for errors.
    const stderrLog = pipeStderr(p.stderr, {
      file: join(dirs.logs, `container-${new Date(startedAt).toISOString().replace(/[:.]/g, "-")}.log`),
      maxBytes: maxStderr,
      log,
    });
    const stderrDone = stderrLog.done;

    const parser = createOutputParser({
      onGarbage: (line) => log.debug("agent stdout outside markers", { name, line }),
      onInvalid: (reason) => log.warn("invalid agent output", { name, reason }),
    });

    const deliver = async (out: ContainerOutput) => {
      outputs++;
      if (out.newSessionId) newSessionId = out.newSessionId;
      try {
        await request.onOutput(out);
      } catch (err) {
        log.error("onOutput failed", { name, error: errorMessage(err) });
      }
      busy = false;
      if (state === "running") armIdle();
      else if (state === "closing") startGrace();
    };

    const stdoutDone = (async () => {
      let bytes = 0;
      const reader = p.stdout.getReader();
      try {
        while (true) {
          const { done: end, value } = await reader.read();
          if (end) break;
          bytes += value.length;
          if (bytes > c.maxOutputBytes) {
            log.warn("output limit exceeded, removing", { name, maxOutputBytes: c.maxOutputBytes });
            stopReason = { status: "error", error: `output exceeded ${c.maxOutputBytes} bytes` };
            void removeNow();
            await reader.cancel().catch(() => {});
            return false;
          }
          for (const out of parser.push(value)) await deliver(out);
        }
        const rest = parser.end();
        for (const out of rest.outputs) await deliver(out);
        return rest.unterminated;
      } catch (err) {
        log.debug("stdout read failed", { name, error: errorMessage(err) });
        return false;
      }
    })();

    void (async () => {
      let exitCode: number | null = null;
      try {
        exitCode = await p.exited;
      } catch {
        exitCode = null;
      }
      const streams = await Promise.race([Promise.all([stdoutDone, stderrDone]), abandoned]);
      const unterminated = streams ? streams[0] : false;
      if (!streams) log.warn("gave up waiting for output delivery after timeout", { name });
      // Resolve only once a removal we started is over, so the group's next run never overlaps.
      if (removing) await removing;
      if (stopReason && stopReason.status !== "closed") {
        return finish(stopReason.status, exitCode, stopReason.error);
      }
      const failure = describeDockerFailure(exitCode, stderrLog.tail(), c.image);
      if (failure) {
        log.error(failure, { name });
        return finish("error", exitCode, failure);
      }
      if (unterminated)
        return finish("error", exitCode, "agent exited inside an output block (no end marker)");
      if (stopReason?.status === "closed" || (exitCode === 0 && outputs > 0))
        return finish("success", exitCode);
      const tail = stderrLog.tail().trim().split("\n").slice(-3).join(" | ").slice(0, 500);
      if (exitCode === 0) return finish("error", exitCode, "agent exited without output");
      return finish("error", exitCode, `agent exited with code ${exitCode}${tail ? `: ${tail}` : ""}`);
    })();

    return proc;
  }

  return {
    start,
    running() {
      return [...live.values()].map((l) => ({ ...l.info }));
    },
    async cleanupOrphans() {
      // Ours = this installation's (instanceId is stable per data dir): a restarted host cleans
      // up after its predecessor, but never touches another installation sharing the engine.
      const ps = await exec([
        "ps",
        "-a",
        "--filter",
        `label=${LABELS.managed}=true`,
        "--filter",
        `label=${LABELS.instance}=${instanceId}`,
        "--format",
        "{{.Names}}",
      ]);
      if (ps.code !== 0) {
        log.warn("orphan cleanup skipped", {
          error: ps.spawnFailed
            ? engineError(`"${bin}" not found`)
            : (describeDockerFailure(ps.code, ps.stderr, config.container.image) ??
              ps.stderr.trim().slice(0, 200)),
        });
        return 0;
      }
      const names = ps.stdout
        .split("\n")
        .map((s) => s.trim())
        .filter((s) => s && !live.has(s));
      if (names.length === 0) return 0;
      const rm = await exec(["rm", "-f", ...names]);
      if (rm.code !== 0) log.warn("orphan removal failed", { error: rm.stderr.trim().slice(0, 200) });
      log.info("removed orphaned containers", { count: names.length });
      return names.length;
    },
    async stopAll() {
      await Promise.all([...live.values()].map((l) => l.proc.kill("shutdown")));
    },
  };
}

/** Write via a temp file and rename, so a reader never sees a half-written file. */
export function writeAtomic(file: string, data: string): void {
  const tmp = join(dirname(file), `.${Date.now()}-${randomHex(3)}.tmp`);
  const fd = openSync(tmp, "w", 0o644);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
