/**
 * The exact `docker run` command line for one agent container, and the host directories it
 * mounts. Kept pure (plus directory creation) so tests can check every flag without an engine.
 */
import { lchownSync, lstatSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { ContainerConfig } from "../config/index.ts";
import type { ResolvedMount } from "../mounts/index.ts";
import { CONTAINER_PATHS, IPC_DIRS } from "../protocol/index.ts";
import type { RegisteredGroup } from "../store/index.ts";

export interface RunnerPaths {
  groupsDir: string;
  dataDir: string;
  projectRoot: string;
}

export interface HostDirs {
  group: string;
  global: string;
  logs: string;
  claudeHome: string;
  ipc: string;
  input: string;
}

export const LABELS = {
  managed: "ngb.managed",
  group: "ngb.group",
  instance: "ngb.instance",
} as const;

export function hostDirs(paths: RunnerPaths, folder: string): HostDirs {
  const ipc = join(paths.dataDir, "ipc", folder);
  return {
    group: join(paths.groupsDir, folder),
    global: join(paths.groupsDir, "global"),
    logs: join(paths.groupsDir, folder, "logs"),
    claudeHome: join(paths.dataDir, "sessions", folder, ".claude"),
    ipc,
    input: join(ipc, IPC_DIRS.input),
  };
}

/**
 * Creates every mount source (so `--mount` never meets a missing path) and empties the input
 * directory: leftover follow-ups or a stale `_close` belong to a container that is gone, and the
 * messages they carried are re-sent from the group's cursor.
 */
export function prepareHostDirs(dirs: HostDirs, user: string | undefined): void {
  const rw = [
    dirs.group,
    dirs.claudeHome,
    dirs.ipc,
    join(dirs.ipc, IPC_DIRS.messages),
    join(dirs.ipc, IPC_DIRS.tasks),
    dirs.input,
  ];
  for (const d of [...rw, dirs.global, dirs.logs]) mkdirSync(d, { recursive: true });
  // The agent can write inside ipc/: it may have swapped a sub-directory for a symlink to make
  // the host clear or chown something else. Replace anything that is not a real directory.
  for (const d of [join(dirs.ipc, IPC_DIRS.messages), join(dirs.ipc, IPC_DIRS.tasks), dirs.input])
    ensureRealDir(d);
  for (const f of readdirSync(dirs.input)) rmSync(join(dirs.input, f), { force: true, recursive: true });
  pruneLogs(dirs.logs);
  // With a numeric --user, a root host must hand the writable mounts to that uid or the agent
  // cannot write its own folder.
  const m = user ? /^(\d+)(?::(\d+))?$/.exec(user) : null;
  if (m && process.getuid?.() === 0) {
    const uid = Number(m[1]);
    const gid = m[2] !== undefined ? Number(m[2]) : uid;
    for (const d of [...rw, dirname(dirs.claudeHome)]) lchownSync(d, uid, gid);
  }
}

/** Make `path` a real directory: a symlink or file in its place is removed first (never followed). */
export function ensureRealDir(path: string): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st?.isDirectory()) return;
  if (st) rmSync(path, { force: true });
  mkdirSync(path, { recursive: true });
}

/**
 * The uid:gid the agent runs as: the configured one, else the host process's own, so files the
 * agent writes in the mounted folders belong to whoever runs ngb (and it can write them at all).
 */
export function containerUser(c: Pick<ContainerConfig, "user">): string | undefined {
  if (c.user) return c.user;
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  return uid === undefined || gid === undefined ? undefined : `${uid}:${gid}`;
}

/** Per-run stderr logs kept per group (oldest removed first). */
export const KEEP_CONTAINER_LOGS = 50;

function pruneLogs(dir: string): void {
  const logs = readdirSync(dir)
    .filter((f) => f.startsWith("container-") && f.endsWith(".log"))
    .sort();
  for (const f of logs.slice(0, Math.max(0, logs.length - (KEEP_CONTAINER_LOGS - 1))))
    rmSync(join(dir, f), { force: true });
}

function csvField(field: string): string {
  return /[",\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/** One `--mount` value. type=bind errors on a missing source instead of creating it. */
export function mountArg(source: string, target: string, readonly: boolean): string {
  const parts = ["type=bind", `source=${source}`, `target=${target}`];
  if (readonly) parts.push("readonly");
  return parts.map(csvField).join(",");
}

export interface RunArgsOptions {
  name: string;
  group: RegisteredGroup;
  container: ContainerConfig;
  dirs: HostDirs;
  paths: RunnerPaths;
  instanceId: string;
  /** Directory holding the credential proxy socket, mounted at /run/ngb. */
  proxySocketDir?: string;
  /** Pass NGB_PROXY_TOKEN through from the client's environment (keeps it out of argv). */
  proxyToken: boolean;
  extraMounts: readonly ResolvedMount[];
}

/** Arguments after the binary: `run -i --rm … <image>`. */
export function buildRunArgs(o: RunArgsOptions): string[] {
  const g = o.group.containerConfig ?? {};
  const c = o.container;
  const args = [
    "run",
    "-i",
    "--rm",
    "--init",
    "--name",
    o.name,
    "--label",
    `${LABELS.managed}=true`,
    "--label",
    `${LABELS.group}=${o.group.folder}`,
    "--label",
    `${LABELS.instance}=${o.instanceId}`,
    "--network",
    g.network ?? c.network,
    "--memory",
    g.memory ?? c.memory,
    "--cpus",
    g.cpus ?? c.cpus,
    "--pids-limit",
    String(c.pidsLimit),
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
  ];
  const user = containerUser(c);
  if (user) args.push("--user", user);
  // Rootless podman maps uids through a user namespace; keep-id makes the host uid the same
  // inside, so the agent owns what it writes in the mounted folders.
  if (!c.user && basename(c.runtime) === "podman" && process.getuid?.() !== 0) args.push("--userns=keep-id");
  const mount = (source: string, target: string, readonly: boolean) =>
    args.push("--mount", mountArg(source, target, readonly));
  mount(o.dirs.group, CONTAINER_PATHS.group, false);
  mount(o.dirs.global, CONTAINER_PATHS.global, true);
  mount(o.dirs.claudeHome, CONTAINER_PATHS.claudeHome, false);
  mount(o.dirs.ipc, CONTAINER_PATHS.ipc, false);
  if (o.group.isMain) mount(o.paths.projectRoot, CONTAINER_PATHS.project, true);
  if (o.proxySocketDir) mount(o.proxySocketDir, dirname(CONTAINER_PATHS.proxySocket), true);
  for (const m of o.extraMounts) mount(m.hostPath, m.containerPath, m.readonly);
  if (o.proxyToken) args.push("-e", "NGB_PROXY_TOKEN");
  args.push(c.image);
  return args;
}
