/**
 * The runner's view of its environment: container paths (re-rooted under `NGB_WORKSPACE_ROOT`
 * when the runner runs as a local process in tests), the proxy socket and token, and the
 * environment handed to the Claude Code process. Environment variables are read only here.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CONTAINER_PATHS, GROUPS_SNAPSHOT, IPC_DIRS, TASKS_SNAPSHOT } from "../../../src/protocol/index.ts";

export interface RunnerPaths {
  group: string;
  global: string;
  /** The project root, mounted read-only for the main group. */
  project: string;
  /** Parent of the extra mounts (one folder each). */
  extra: string;
  globalClaudeMd: string;
  ipc: string;
  ipcInput: string;
  ipcMessages: string;
  ipcTasks: string;
  tasksSnapshot: string;
  groupsSnapshot: string;
  proxySocket: string;
  home: string;
  claudeConfigDir: string;
}

export interface RunnerConfig {
  paths: RunnerPaths;
  /** Token the host proxy expects in place of the API key. */
  proxyToken?: string;
  /** Direct upstream (network mode); when set the local forwarder is not started. */
  anthropicBaseUrl?: string;
  /** Path of the `claude` executable when the SDK's own lookup is not wanted. */
  claudeExecutable?: string;
  /** Passed through to the Claude Code process (PATH, TZ, LANG, proxies). */
  passthroughEnv: Record<string, string>;
  /** Milliseconds between re-scans of the input folder (fallback for missed watch events). */
  rescanMs: number;
}

const WORKSPACE = "/workspace";
const PASSTHROUGH = [
  "PATH",
  "SHELL",
  "TZ",
  "LANG",
  "LC_ALL",
  "TERM",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
];
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Maps a `/workspace/...` container path under `root` (identity when root is undefined). */
export function rebase(path: string, root: string | undefined): string {
  if (!root || !path.startsWith(WORKSPACE)) return path;
  return join(root, path.slice(WORKSPACE.length));
}

export function loadRunnerConfig(env: Record<string, string | undefined> = process.env): RunnerConfig {
  const root = env.NGB_WORKSPACE_ROOT || undefined;
  const ipc = rebase(CONTAINER_PATHS.ipc, root);
  const home = env.NGB_AGENT_HOME || "/home/agent";
  const global = rebase(CONTAINER_PATHS.global, root);
  const passthroughEnv: Record<string, string> = {};
  for (const key of PASSTHROUGH) {
    const value = env[key];
    if (value) passthroughEnv[key] = value;
  }
  passthroughEnv.PATH ??= DEFAULT_PATH;
  const rescan = Number(env.NGB_INPUT_RESCAN_MS);
  return {
    paths: {
      group: rebase(CONTAINER_PATHS.group, root),
      global,
      project: rebase(CONTAINER_PATHS.project, root),
      extra: rebase(CONTAINER_PATHS.extra, root),
      globalClaudeMd: join(global, "CLAUDE.md"),
      ipc,
      ipcInput: join(ipc, IPC_DIRS.input),
      ipcMessages: join(ipc, IPC_DIRS.messages),
      ipcTasks: join(ipc, IPC_DIRS.tasks),
      tasksSnapshot: join(ipc, TASKS_SNAPSHOT),
      groupsSnapshot: join(ipc, GROUPS_SNAPSHOT),
      proxySocket: env.NGB_PROXY_SOCKET || CONTAINER_PATHS.proxySocket,
      home,
      claudeConfigDir:
        env.NGB_CLAUDE_CONFIG_DIR ||
        (env.NGB_AGENT_HOME ? join(home, ".claude") : CONTAINER_PATHS.claudeHome),
    },
    proxyToken: env.NGB_PROXY_TOKEN || undefined,
    anthropicBaseUrl: env.NGB_ANTHROPIC_BASE_URL || undefined,
    claudeExecutable: env.NGB_CLAUDE_EXECUTABLE || undefined,
    passthroughEnv,
    rescanMs: Number.isFinite(rescan) && rescan > 0 ? rescan : 1000,
  };
}

/**
 * The whole environment of the Claude Code process (the SDK's `env` option replaces it).
 * Only what the CLI needs: no host secrets, no NGB_* variables.
 */
export function claudeEnv(config: RunnerConfig, baseUrl: string, apiKey: string): Record<string, string> {
  return {
    ...config.passthroughEnv,
    HOME: config.paths.home,
    CLAUDE_CONFIG_DIR: config.paths.claudeConfigDir,
    ANTHROPIC_BASE_URL: baseUrl,
    ANTHROPIC_API_KEY: apiKey,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    ENABLE_TOOL_SEARCH: "false",
    SHELL: config.passthroughEnv.SHELL ?? (existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh"),
  };
}
