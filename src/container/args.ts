/**
 * The exact `docker run` command line for one agent container, and the host directories it
 * mounts. Kept pure (plus directory preparation) so tests can check every flag without an engine.
 *
 * What a container sees: its group folder (rw), the global memory (ro), its Claude session dir
 * (rw), for the main group every group's folder (ro), the credential proxy's socket dir (ro) and
 * allowlisted extra mounts. Never the working directory, data/, store/, config or .env. Logs are
 * written by the host into a host-only directory (data/logs/<folder>), never into a mount.
 */
import { constants, lchownSync, lstatSync, mkdirSync, readdirSync, rmSync, chmodSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { ContainerConfig } from "../config/index.ts";
import type { ResolvedMount } from "../mounts/index.ts";
import { CONTAINER_PATHS } from "../protocol/index.ts";
import type { RegisteredGroup } from "../store/index.ts";
import { sharedNamespaceNetwork } from "../util/network.ts";

export interface RunnerPaths {
  groupsDir: string;
  dataDir: string;
}

export interface HostDirs {
  group: string;
  global: string;
  /** Every group's folder (mounted read-only for the main group). */
  groups: string;
  /** Host-only: per-run stderr logs. Never mounted. */
  logs: string;
  claudeHome: string;
}

export const LABELS = {
  managed: "ngb.managed",
  group: "ngb.group",
  instance: "ngb.instance",
} as const;

/** The agent's uid when none is configured: never root, never a typical login uid. */
export const AGENT_UID = 10001;

export function hostDirs(paths: RunnerPaths, folder: string): HostDirs {
  return {
    group: join(paths.groupsDir, folder),
    global: join(paths.groupsDir, "global"),
    groups: paths.groupsDir,
    logs: join(paths.dataDir, "logs", folder),
    claudeHome: join(paths.dataDir, "sessions", folder, ".claude"),
  };
}

/**
 * The uid:gid the agent runs as: the configured one, else uid 10001 with gid 10001 (root host)
 * or the host's own gid (so the host can still manage what the agent writes).
 */
export function containerUser(c: Pick<ContainerConfig, "user">): string {
  if (c.user) return c.user.includes(":") ? c.user : `${c.user}:${c.user}`;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return uid === 0 ? `${AGENT_UID}:${AGENT_UID}` : `${AGENT_UID}:${gid}`;
}

/**
 * Creates every mount source (so `--mount` never meets a missing path) and makes the writable
 * ones usable by the container user. Nothing here follows a symlink: the agent may have planted
 * some inside its folders, and the host never acts through them.
 */
export function prepareHostDirs(dirs: HostDirs, c: Pick<ContainerConfig, "user">): void {
  for (const d of [dirs.group, dirs.claudeHome, dirs.global]) ensureRealDir(d);
  ensureRealDir(dirs.logs, 0o700);
  chmodSync(dirname(dirs.logs), 0o700);
  pruneLogs(dirs.logs);
  const [uid, gid] = containerUser(c).split(":").map(Number) as [number, number];
  const hostUid = process.getuid?.() ?? -1;
  for (const d of [dirs.group, dirs.claudeHome]) {
    const st = lstatSync(d);
    if (hostUid === 0) {
      // Root host: hand the writable mounts to the agent's uid (once: a changed owner means
      // a fresh folder or a changed user setting).
      if (st.uid !== uid || st.gid !== gid) chownTree(d, uid, gid);
    } else if (st.uid === hostUid && (st.gid !== gid || (st.mode & 0o2070) !== 0o2070)) {
      // Ordinary host user: the agent shares our gid; folders are group-writable and setgid so
      // what it creates stays in the group (the runner's umask is 002).
      groupWritableTree(d, gid);
    }
  }
}

/** Make `path` a real directory: a symlink or file in its place is removed first (never followed). */
export function ensureRealDir(path: string, mode?: number): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st?.isDirectory()) {
    if (mode !== undefined && (st.mode & 0o777) !== mode) chmodSync(path, mode);
    return;
  }
  if (st) rmSync(path, { force: true });
  mkdirSync(path, { recursive: true, mode: mode ?? 0o755 });
  if (mode !== undefined) chmodSync(path, mode);
}

/** Bounded walk without following symlinks (they are chowned themselves, never through). */
function walk(root: string, visit: (path: string, isDir: boolean) => void, budget = { n: 100_000 }): void {
  visit(root, true);
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (--budget.n < 0) return;
    const p = join(root, e.name);
    if (e.isDirectory()) walk(p, visit, budget);
    else visit(p, false);
  }
}

function chownTree(root: string, uid: number, gid: number): void {
  walk(root, (p) => {
    try {
      lchownSync(p, uid, gid);
    } catch {
      // vanished meanwhile
    }
  });
}

function groupWritableTree(root: string, gid: number): void {
  walk(root, (p, isDir) => {
    try {
      const st = lstatSync(p);
      if (st.isSymbolicLink() || st.uid !== process.getuid?.()) return;
      if (st.gid !== gid) lchownSync(p, -1, gid);
      chmodSync(p, isDir ? (st.mode & 0o777) | 0o2070 : (st.mode & 0o777) | 0o060);
    } catch {
      // not ours or vanished
    }
  });
}

/** Flags for opening a host-only log file: never through a symlink, never an existing file. */
export const LOG_OPEN_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

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

/** One `--mount` value for a named volume on the engine. */
export function volumeArg(name: string, target: string, readonly: boolean): string {
  const parts = ["type=volume", `source=${name}`, `target=${target}`];
  if (readonly) parts.push("readonly");
  return parts.map(csvField).join(",");
}

export interface RunArgsOptions {
  name: string;
  group: RegisteredGroup;
  container: ContainerConfig;
  dirs: HostDirs;
  instanceId: string;
  /** Directory holding the credential proxy socket, mounted read-only at /run/ngb. */
  proxySocketDir?: string;
  /** Pass NGB_PROXY_TOKEN through from the client's environment (keeps it out of argv). */
  proxyToken: boolean;
  extraMounts: readonly ResolvedMount[];
  /**
   * `container.transport: "stdio"`: the group folder, session, global memory and main's view
   * of the groups are these named volumes on the engine, model traffic goes over stdio, and no
   * host path at all appears in the command line (extra mounts are not allowed).
   */
  volumes?: { group: string; session: string; global: string; groups: string };
  /** Keep stdin open for frames (`-i`); false for an interactive shell that sets its own. */
  interactive?: boolean;
}

export class UnsafeNetworkError extends Error {
  override name = "UnsafeNetworkError";
}

/** Arguments after the binary: `run -i --rm … <image>`. */
export function buildRunArgs(o: RunArgsOptions): string[] {
  const g = o.group.containerConfig ?? {};
  const c = o.container;
  const network = g.network ?? c.network;
  // A group stored before host networking needed an explicit opt-in must not get it silently.
  const shared = sharedNamespaceNetwork(network);
  if (shared && !c.allowHostNetwork)
    throw new UnsafeNetworkError(
      `group "${o.group.folder}": network "${network}" shares ${shared} with the agent; set container.allowHostNetwork to allow it`,
    );
  const args = [
    "run",
    ...(o.interactive === false ? [] : ["-i"]),
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
    network,
    "--memory",
    g.memory ?? c.memory,
    "--cpus",
    g.cpus ?? c.cpus,
    "--pids-limit",
    String(c.pidsLimit),
    "--ulimit",
    `fsize=${c.maxFileBytes}:${c.maxFileBytes}`,
    "--ulimit",
    `nofile=${c.maxOpenFiles}:${c.maxOpenFiles}`,
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
  ];
  const user = containerUser(c);
  // Rootless podman maps uids through a user namespace; keep-id keeps ours inside instead.
  if (!c.user && basename(c.runtime) === "podman" && process.getuid?.() !== 0) args.push("--userns=keep-id");
  else args.push("--user", user);
  if (c.readOnlyRoot) {
    args.push(
      "--read-only",
      "--tmpfs",
      `/tmp:rw,nosuid,nodev,size=${c.tmpSize},mode=1777`,
      "--tmpfs",
      `/home/agent:rw,nosuid,nodev,size=64m,mode=1777`,
    );
  }
  if (o.volumes) {
    if (o.extraMounts.length > 0 || o.proxySocketDir)
      throw new Error(
        "the stdio transport mounts no host path (extra mounts and the proxy socket are refused)",
      );
    const vol = (source: string, target: string, readonly: boolean) =>
      args.push("--mount", volumeArg(source, target, readonly));
    vol(o.volumes.group, CONTAINER_PATHS.group, false);
    vol(o.volumes.global, CONTAINER_PATHS.global, true);
    vol(o.volumes.session, CONTAINER_PATHS.claudeHome, false);
    if (o.group.isMain) vol(o.volumes.groups, CONTAINER_PATHS.groups, true);
    args.push("-e", "NGB_PROXY_TRANSPORT=stdio");
    if (o.proxyToken) args.push("-e", "NGB_PROXY_TOKEN");
    args.push(c.image);
    return args;
  }
  const mount = (source: string, target: string, readonly: boolean) =>
    args.push("--mount", mountArg(source, target, readonly));
  mount(o.dirs.group, CONTAINER_PATHS.group, false);
  mount(o.dirs.global, CONTAINER_PATHS.global, true);
  mount(o.dirs.claudeHome, CONTAINER_PATHS.claudeHome, false);
  if (o.group.isMain) mount(o.dirs.groups, CONTAINER_PATHS.groups, true);
  if (o.proxySocketDir) mount(o.proxySocketDir, dirname(CONTAINER_PATHS.proxySocket), true);
  for (const m of o.extraMounts) mount(m.hostPath, m.containerPath, m.readonly);
  if (o.proxyToken) args.push("-e", "NGB_PROXY_TOKEN");
  args.push(c.image);
  return args;
}
