/**
 * AgentRunner over the docker CLI (docker or podman; the child inherits the environment, so
 * DOCKER_HOST and docker contexts work). Owns one container's life: start, the stdio frames
 * (protocol v2: start/input/close/reply in, result/request/activity out), idle close, hard
 * timeout, stall detection, output cap and the host-only stderr log. Containers are named and
 * labelled, and removed with `docker rm -f` whenever a run ends in any way but a clean exit, so
 * no container outlives its run; a removal the engine could not take is retried until it does.
 */
import { closeSync, openSync } from "node:fs";
import { dirname, join } from "node:path";
import { childEnv, type Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { PrivatePath, ResolvedMount } from "../mounts/index.ts";
import { type AgentFrame, encodeHostFrame, type HostFrame, type ResultFrame } from "../protocol/index.ts";
import { randomHex } from "../util/crypto.ts";
import { errorMessage } from "../util/errors.ts";
import { hostDirs, LOG_OPEN_FLAGS, prepareHostDirs, type RunnerPaths } from "./args.ts";
import { bunSpawn, engineError, execCli, execCliInput, type SpawnedProcess, type SpawnFn } from "./cli.ts";
import { resolveExtraMounts } from "./extra-mounts.ts";
import { dockerEngine, type Engine } from "./engine.ts";
import { classifyEndpoint } from "./engine-location.ts";
import { createFrameParser } from "./output-parser.ts";
import { createProxyBridge, type ProxyBridge } from "./proxy-bridge.ts";
import { createVolumeManager, type GroupVolumes, VolumeError } from "./volumes.ts";
import { pipeStderr } from "./stderr-log.ts";
import type {
  AgentProcess,
  AgentRunner,
  AgentRunRequest,
  AgentRunResult,
  EngineState,
  FailureKind,
  FollowUp,
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
  /** After `close`, how long a container may take to exit before `rm -f`. Default 30 s. */
  closeGraceMs?: number;
  /** Cap for the per-run stderr log file. Default 5 MiB. */
  maxStderrBytes?: number;
  /** The engine's command lines (default: the docker CLI named by container.runtime). */
  engine?: Engine;
  /** ngb's own paths (data, store, config, .env…) that no extra mount may reach or contain. */
  privatePaths?: readonly PrivatePath[];
}

/** Same rule as the protocol's GroupFolder: a folder can never climb out of groupsDir. */
const SAFE_FOLDER = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function createDockerRunner(options: DockerRunnerOptions): AgentRunner {
  const { config, paths, proxy, instanceId } = options;
  const log = options.log.withTag("container");
  const spawn = options.spawn ?? bunSpawn;
  const now = options.clock ?? Date.now;
  const eng = options.engine ?? dockerEngine(config.container.runtime);
  const bin = eng.bin;
  const closeGraceMs = options.closeGraceMs ?? 30_000;
  const maxStderr = options.maxStderrBytes ?? 5 * 1024 * 1024;
  const live = new Map<string, { info: RunningContainer; proc: AgentProcess }>();
  /** Containers whose removal the engine did not take (unreachable): retried before the next start. */
  const toRemove = new Set<string>();
  let engine: EngineState = { ok: true, since: now() };
  let setUp = false;
  const stdio = eng.stdioOnly || config.container.transport === "stdio";
  const volumes = stdio
    ? createVolumeManager({
        backend: eng.volumes,
        isEngineFailure: eng.isEngineFailure,
        spawn,
        bin,
        image: config.container.image,
        instanceId,
        env: () => env(),
        stateDir: join(paths.dataDir, "sync"),
        groupsDir: paths.groupsDir,
        log,
      })
    : undefined;

  const setEngine = (ok: boolean, error?: string) => {
    if (engine.ok === ok && engine.error === error) return;
    if (engine.ok !== ok) {
      if (ok) log.info("container engine reachable again");
      else log.warn("container engine unreachable; runs wait for it", { error });
    }
    engine = { ok, ...(error ? { error } : {}), since: engine.ok === ok ? engine.since : now() };
  };

  function env(extra: Record<string, string> = {}) {
    return { ...(options.env ?? childEnv()), ...extra };
  }

  const exec = (args: string[], timeoutMs?: number) => execCli(spawn, [bin, ...args], env(), timeoutMs);

  /** `rm -f` that never throws; false when the engine did not answer (retried later). */
  async function remove(name: string): Promise<boolean> {
    const r = await exec(eng.removeArgs([name]), 20_000);
    if (r.code === 0 || eng.isGone(r.stderr)) {
      toRemove.delete(name);
      return true;
    }
    toRemove.add(name);
    if (r.spawnFailed || eng.isEngineFailure(r.stderr) || r.code < 0)
      setEngine(false, engineError(r.stderr.trim().split("\n")[0]?.slice(0, 200) ?? "no answer"));
    log.warn("removal failed; will retry", { name, error: r.stderr.trim().slice(0, 200) });
    return false;
  }

  async function flushRemovals(): Promise<void> {
    for (const name of [...toRemove]) await remove(name);
  }

  async function probeEngine(): Promise<EngineState> {
    const r = await exec(eng.probeArgs(), 10_000);
    if (r.code === 0) {
      setEngine(true);
      await flushRemovals();
    } else {
      const detail = r.spawnFailed ? `"${bin}" not found on PATH` : (r.stderr.trim().split("\n")[0] ?? "");
      setEngine(false, engineError(detail.slice(0, 300)));
    }
    return engine;
  }

  async function start(request: AgentRunRequest): Promise<AgentProcess> {
    const { group } = request;
    const folder = group.folder;
    const name = `ngb-${folder}-${randomHex(4)}`;
    const startedAt = now();
    const c = config.container;
    const timeoutMs = group.containerConfig?.timeoutMs ?? c.timeoutMs;
    const stallMs = c.stallTimeoutMs;

    let state: "running" | "closing" | "exited" = "running";
    let outputs = 0;
    let newSessionId: string | undefined;
    let stop: { failure: FailureKind; error: string } | undefined;
    let closedByUs = false;
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    let hardTimer: ReturnType<typeof setTimeout> | undefined;
    let stallTimer: ReturnType<typeof setTimeout> | undefined;
    let token: string | undefined;
    /** Inputs handed over and not yet named in a result's `consumed`. */
    const outstanding = new Set<string>([request.input.inputId]);
    let requestsInFlight = 0;
    let resolveDone!: (r: AgentRunResult) => void;
    const done = new Promise<AgentRunResult>((r) => {
      resolveDone = r;
    });
    let child: SpawnedProcess | undefined;
    let removing: Promise<boolean> | undefined;
    /** Cancels the volume preparation of a run stopped before it started. */
    const preparing = new AbortController();

    const finish = (
      status: AgentRunResult["status"],
      exitCode: number | null,
      failure?: FailureKind,
      error?: string,
    ) => {
      if (state === "exited" && !live.has(name)) return;
      state = "exited";
      for (const t of [idleTimer, graceTimer, hardTimer, stallTimer]) clearTimeout(t);
      if (token) proxy.revoke(token);
      live.delete(name);
      const result: AgentRunResult = {
        status,
        exitCode,
        durationMs: now() - startedAt,
        outputs,
        ...(newSessionId ? { newSessionId } : {}),
        ...(failure && status !== "success" ? { failure } : {}),
        ...(error ? { error } : {}),
      };
      log.debug("container done", { name, status, exitCode, outputs, durationMs: result.durationMs });
      resolveDone(result);
    };

    const removeNow = (): Promise<boolean> => {
      removing ??= remove(name).finally(() => {
        try {
          child?.kill(9);
        } catch {
          // already gone
        }
      });
      return removing;
    };

    const stopWith = (failure: FailureKind, error: string) => {
      if (state === "exited") return;
      preparing.abort();
      stop ??= { failure, error };
      state = "closing";
      void removeNow();
    };

    const write = (frame: HostFrame): boolean => {
      if (!child) return false;
      try {
        const r = child.stdin.write(encodeHostFrame(frame));
        if (r instanceof Promise)
          r.catch((err) => log.debug("stdin write failed", { name, error: errorMessage(err) }));
        child.stdin.flush?.();
        return true;
      } catch (err) {
        log.debug("stdin write failed", { name, error: errorMessage(err) });
        return false;
      }
    };

    const busy = () => outstanding.size > 0 || requestsInFlight > 0;

    const armStall = () => {
      clearTimeout(stallTimer);
      if (state === "exited" || !busy()) return;
      stallTimer = setTimeout(() => {
        if (state === "exited" || !busy()) return;
        log.warn("agent made no progress, stopping it", { name, stallMs });
        stopWith("stalled", `the agent made no progress for ${Math.round(stallMs / 1000)} s and was stopped`);
      }, stallMs);
    };

    const startGrace = () => {
      clearTimeout(graceTimer);
      graceTimer = setTimeout(() => {
        if (state === "exited") return;
        log.info("container did not exit after close, removing", { name });
        void removeNow();
      }, closeGraceMs);
    };

    const beginClose = () => {
      if (state !== "running") return;
      state = "closing";
      closedByUs = true;
      clearTimeout(idleTimer);
      write({ type: "close" });
      startGrace();
    };

    const armIdle = () => {
      clearTimeout(idleTimer);
      if (state !== "running" || busy()) return;
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
      sendInput(input: FollowUp) {
        if (state !== "running" || !child) return false;
        if (
          !write({
            type: "input",
            id: input.id,
            text: input.text,
            ...(input.thread ? { thread: input.thread } : {}),
          })
        )
          return false;
        outstanding.add(input.id);
        clearTimeout(idleTimer);
        armStall();
        return true;
      },
      close() {
        beginClose();
      },
      async kill(reason: string, failure: FailureKind = "stopped") {
        if (state === "exited") return;
        stopWith(failure, `stopped: ${reason}`);
        await removeNow();
        await Promise.race([done, Bun.sleep(closeGraceMs)]);
      },
    };

    if (!SAFE_FOLDER.test(folder)) {
      finish("error", null, "setup", `refusing to run: unsafe group folder "${folder}"`);
      return proc;
    }
    if (!stdio) {
      // Bind mounts name this machine's paths: on another machine they are missing or, worse,
      // someone else's. Judged by DOCKER_HOST (ngb doctor also reads the docker context).
      const where = classifyEndpoint(env().DOCKER_HOST ?? "");
      if (!where.local) {
        finish(
          "error",
          null,
          "setup",
          `the container engine ${where.endpoint} is not on this machine: set container.transport to "stdio" (bind mounts cannot reach it)`,
        );
        return proc;
      }
    }
    live.set(name, { info: { name, groupFolder: folder, chatJid: request.input.chatJid, startedAt }, proc });

    // A container of this group the engine could not remove earlier must be gone before another starts.
    if (toRemove.size > 0) await flushRemovals();
    if ([...toRemove].some((n) => n.startsWith(`ngb-${folder}-`))) {
      finish(
        "error",
        null,
        "engine",
        engine.error ?? engineError("an earlier container could not be removed"),
      );
      return proc;
    }

    const dirs = hostDirs(paths, folder);
    let mounts: ResolvedMount[];
    let args: string[];
    let vols: GroupVolumes | undefined;
    if (volumes) {
      try {
        if (state !== "running") throw new Error("stopped before it started");
        vols = await volumes.prepare(folder, group.isMain === true, preparing.signal);
      } catch (err) {
        if (state !== "running") {
          finish("error", null, stop?.failure ?? "stopped", stop?.error ?? "stopped before it started");
          return proc;
        }
        const failure = err instanceof VolumeError ? err.failure : "setup";
        const detail = `cannot prepare the group's volumes: ${errorMessage(err)}`;
        if (failure === "engine") setEngine(false, errorMessage(err));
        log.warn("container not started", { name, error: detail });
        finish("error", null, failure, failure === "engine" ? errorMessage(err) : detail);
        return proc;
      }
      // Stopped (shutdown, kill) while the volumes were being prepared: never start it.
      if (state !== "running") {
        finish("error", null, stop?.failure ?? "stopped", stop?.error ?? "stopped before it started");
        return proc;
      }
    }
    try {
      prepareHostDirs(dirs, c);
      mounts = vols ? [] : resolveExtraMounts(group, c.mountAllowlistPath, log, options.privatePaths);
      if (vols && (group.containerConfig?.additionalMounts?.length ?? 0) > 0)
        log.warn("additional mounts are ignored with the stdio transport (no host path reaches the engine)", {
          group: folder,
        });
      args = eng.runArgs({
        name,
        group,
        container: c,
        dirs,
        instanceId,
        ...(vols ? { volumes: vols } : { proxySocketDir: dirname(proxy.socketPath) }),
        proxyToken: !eng.tokenInStart,
        extraMounts: mounts,
      });
      token = proxy.issue(folder);
    } catch (err) {
      log.warn("container not started", { name, error: errorMessage(err) });
      finish("error", null, "setup", `cannot prepare the container: ${errorMessage(err)}`);
      return proc;
    }

    try {
      child = spawn([bin, ...args], { env: env({ NGB_PROXY_TOKEN: token }) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const detail = engineError(code === "ENOENT" ? `"${bin}" not found on PATH` : errorMessage(err));
      setEngine(false, detail);
      finish("error", null, "engine", detail);
      return proc;
    }
    const p = child;
    log.debug("container started", { name, group: folder, mounts: mounts.length, transport: c.transport });
    const bridge: ProxyBridge | undefined = vols
      ? createProxyBridge({ socketPath: proxy.socketPath, send: (f) => void write(f), log })
      : undefined;
    const onProxyFrame = (frame: Extract<AgentFrame, { type: `proxy_${string}` }>) => {
      if (bridge) bridge.handle(frame);
      else if (frame.type === "proxy_open")
        write({
          type: "proxy_end",
          conn: frame.conn,
          error: "the stdio transport is off (container.transport)",
        });
    };
    write({
      type: "start",
      input: eng.tokenInStart ? { ...request.input, proxyToken: token } : request.input,
    });
    armStall();

    hardTimer = setTimeout(() => {
      if (state === "exited") return;
      log.warn("container timed out, removing", { name, timeoutMs });
      stopWith("timeout", `timed out after ${Math.round(timeoutMs / 1000)} s`);
    }, timeoutMs);

    // stderr: a host-only log file (never a path the agent can write), with a tail for errors.
    let logFd: number | undefined;
    const logFile = join(
      dirs.logs,
      `container-${new Date(startedAt).toISOString().replace(/[:.]/g, "-")}-${randomHex(2)}.log`,
    );
    try {
      logFd = openSync(logFile, LOG_OPEN_FLAGS, 0o600);
    } catch (err) {
      log.warn("cannot open container log", { name, error: errorMessage(err) });
    }
    const stderrLog = pipeStderr(p.stderr, { fd: logFd, maxBytes: maxStderr, log, onData: armStall });
    const stderrDone = stderrLog.done.finally(() => {
      if (logFd !== undefined) closeSync(logFd);
    });

    const parser = createFrameParser({
      onGarbage: (line) => log.debug("agent stdout outside markers", { name, line }),
      onInvalid: (reason) => log.warn("invalid agent output", { name, reason }),
    });

    let requests = Promise.resolve();
    const handleResult = async (frame: ResultFrame) => {
      outputs++;
      if (frame.newSessionId) newSessionId = frame.newSessionId;
      for (const id of frame.consumed) outstanding.delete(id);
      try {
        await request.onResult(frame);
      } catch (err) {
        log.error("result handling failed", { name, error: errorMessage(err) });
      }
      armStall();
      if (state === "running") armIdle();
    };

    const stdoutDone = (async () => {
      let sinceResult = 0;
      const reader = p.stdout.getReader();
      try {
        while (true) {
          const { done: end, value } = await reader.read();
          if (end) break;
          sinceResult += value.length;
          const frames = parser.push(value);
          // Model traffic is not agent output: it does not count against the output cap.
          for (const f of frames) if (f.type === "proxy_data") sinceResult -= f.b64.length;
          sinceResult = Math.max(0, sinceResult);
          if (sinceResult > c.maxOutputBytes) {
            log.warn("output limit exceeded, removing", { name, maxOutputBytes: c.maxOutputBytes });
            stopWith("agent", `output exceeded ${c.maxOutputBytes} bytes without a result`);
            await reader.cancel().catch(() => {});
            return false;
          }
          for (const frame of frames) {
            if (engine.ok === false) setEngine(true);
            armStall();
            if (
              frame.type === "proxy_open" ||
              frame.type === "proxy_data" ||
              frame.type === "proxy_end" ||
              frame.type === "proxy_ack"
            ) {
              onProxyFrame(frame);
            } else if (frame.type === "result") {
              sinceResult = 0;
              await handleResult(frame);
            } else if (frame.type === "activity") {
              request.onActivity?.(frame);
            } else {
              requestsInFlight++;
              clearTimeout(idleTimer);
              requests = requests.then(async () => {
                let answer: { ok: boolean; text: string };
                try {
                  answer = await request.onRequest(frame);
                } catch (err) {
                  answer = { ok: false, text: `The host could not handle the request: ${errorMessage(err)}` };
                }
                requestsInFlight--;
                if (state !== "exited")
                  write({ type: "reply", reqId: frame.reqId, ok: answer.ok, text: answer.text });
                armStall();
                if (state === "running") armIdle();
              });
            }
          }
        }
        const rest = parser.end();
        for (const frame of rest.frames) if (frame.type === "result") await handleResult(frame);
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
      try {
        p.stdin.end();
      } catch {
        // already closed
      }
      const streams = await Promise.race([
        Promise.all([stdoutDone, stderrDone]),
        Bun.sleep(closeGraceMs).then(() => null),
      ]);
      await requests;
      bridge?.close("the container ended");
      if (volumes && !eng.isEngineFailure(stderrLog.tail())) {
        try {
          const synced = await volumes.collect(folder);
          if (synced.written + synced.removed > 0)
            log.info("memory files synced from the group volume", { folder, ...synced });
        } catch (err) {
          log.warn("syncing memory files from the group volume failed; retried after the next run", {
            folder,
            error: errorMessage(err),
          });
        }
      }
      const unterminated = streams ? streams[0] : false;
      const failure = eng.describeFailure(exitCode, stderrLog.tail(), c.image);
      const engineDown = failure !== null && eng.isEngineFailure(stderrLog.tail());
      if (engineDown) setEngine(false, failure ?? undefined);
      // The CLI ended; unless the container exited cleanly by itself, make sure it is gone too
      // (a cut engine connection leaves it running; --rm only acts on a clean exit).
      const clean = exitCode === 0 && !stop && !unterminated;
      if (!clean) await removeNow();
      else if (removing) await removing;
      if (stop)
        return finish(stop.failure === "timeout" ? "timeout" : "error", exitCode, stop.failure, stop.error);
      if (failure) {
        log.error(failure, { name });
        return finish("error", exitCode, engineDown ? "engine" : "setup", failure);
      }
      if (unterminated)
        return finish("error", exitCode, "agent", "agent exited inside an output block (no end marker)");
      if (closedByUs || (exitCode === 0 && outputs > 0)) return finish("success", exitCode);
      const tail = stderrLog.tail().trim().split("\n").slice(-3).join(" | ").slice(0, 500);
      if (exitCode === 0) return finish("error", exitCode, "agent", "agent exited without output");
      return finish(
        "error",
        exitCode,
        "agent",
        `agent exited with code ${exitCode}${tail ? `: ${tail}` : ""}`,
      );
    })();

    return proc;
  }

  return {
    start,
    running() {
      return [...live.values()].map((l) => ({ ...l.info }));
    },
    engine: () => engine,
    probeEngine,
    async cleanupOrphans() {
      // Ours = this installation's (instanceId is stable per data dir): a restarted host cleans
      // up after its predecessor, but never touches another installation sharing the engine.
      const ps = await exec(eng.listArgs(instanceId));
      if (ps.code !== 0) {
        const detail = ps.spawnFailed
          ? engineError(`"${bin}" not found`)
          : (eng.describeFailure(ps.code, ps.stderr, config.container.image) ??
            ps.stderr.trim().slice(0, 200));
        if (ps.spawnFailed || eng.isEngineFailure(ps.stderr)) setEngine(false, detail);
        log.warn("orphan cleanup skipped", { error: detail });
        return 0;
      }
      setEngine(true);
      if (eng.setup && !setUp) {
        try {
          await eng.setup(async (args, input) => {
            const r = await execCliInput(spawn, [bin, ...args], env(), input);
            return { code: r.code, stdout: r.stdout, stderr: r.stderr };
          });
          setUp = true;
        } catch (err) {
          log.warn("engine set-up failed; retried at the next start-up", { error: errorMessage(err) });
        }
      }
      const names = eng.parseList(ps.stdout).filter((s) => !live.has(s));
      if (names.length === 0) return 0;
      const rm = await exec(eng.removeArgs(names));
      if (rm.code !== 0) {
        for (const n of names) toRemove.add(n);
        log.warn("orphan removal failed", { error: rm.stderr.trim().slice(0, 200) });
      }
      log.info("removed orphaned containers", { count: names.length });
      return names.length;
    },
    async stopAll() {
      await Promise.all([...live.values()].map((l) => l.proc.kill("shutdown")));
    },
  };
}
