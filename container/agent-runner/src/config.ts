/**
 * The runner's view of its environment: container paths (re-rooted under `NGB_WORKSPACE_ROOT`
 * when the runner runs as a local process in tests), the proxy socket and token, and the
 * environment handed to the Claude Code process. Environment variables are read only here.
 *
 * The container runs with a read-only root filesystem: only the group folder, the mounted
 * `.claude` dir and the `/tmp` tmpfs are writable, so every cache, state or config path the
 * CLI would put under HOME is pointed into the temp dir instead.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CONTAINER_PATHS } from "../../../src/protocol/index.ts";

export interface RunnerPaths {
  group: string;
  global: string;
  /** Every group's folder, mounted read-only for the main group only. */
  groups: string;
  /** Parent of the extra mounts (one folder each). */
  extra: string;
  globalClaudeMd: string;
  proxySocket: string;
  home: string;
  claudeConfigDir: string;
  /** Scratch space (a tmpfs in the container): temp files, caches, state. */
  tmp: string;
}

export interface RunnerConfig {
  paths: RunnerPaths;
  /** Token the host proxy expects in place of the API key. */
  proxyToken?: string;
  /**
   * How model traffic reaches the host's credential proxy: "socket" (the mounted unix socket)
   * or "stdio" (frames on stdin/stdout; the engine shares no file system with the host).
   */
  proxyTransport: "socket" | "stdio";
  /** Direct upstream (network mode); when set the local forwarder is not started. */
  anthropicBaseUrl?: string;
  /** Path of the `claude` executable when the SDK's own lookup is not wanted. */
  claudeExecutable?: string;
  /** Passed through to the Claude Code process (PATH, TZ, LANG, proxies). */
  passthroughEnv: Record<string, string>;
  /** How long an MCP tool waits for the host's reply to a request (ms). */
  requestTimeoutMs: number;
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
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** Maps a `/workspace/...` container path under `root` (identity when root is undefined). */
export function rebase(path: string, root: string | undefined): string {
  if (!root || !path.startsWith(WORKSPACE)) return path;
  return join(root, path.slice(WORKSPACE.length));
}

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value && Number.isFinite(n) && n > 0 ? n : fallback;
}

export function loadRunnerConfig(env: Record<string, string | undefined> = process.env): RunnerConfig {
  const root = env.NGB_WORKSPACE_ROOT || undefined;
  const home = env.NGB_AGENT_HOME || "/home/agent";
  const global = rebase(CONTAINER_PATHS.global, root);
  const passthroughEnv: Record<string, string> = {};
  for (const key of PASSTHROUGH) {
    const value = env[key];
    if (value) passthroughEnv[key] = value;
  }
  passthroughEnv.PATH ??= DEFAULT_PATH;
  return {
    paths: {
      group: rebase(CONTAINER_PATHS.group, root),
      global,
      groups: rebase(CONTAINER_PATHS.groups, root),
      extra: rebase(CONTAINER_PATHS.extra, root),
      globalClaudeMd: join(global, "CLAUDE.md"),
      proxySocket: env.NGB_PROXY_SOCKET || CONTAINER_PATHS.proxySocket,
      home,
      claudeConfigDir:
        env.NGB_CLAUDE_CONFIG_DIR ||
        (env.NGB_AGENT_HOME ? join(home, ".claude") : CONTAINER_PATHS.claudeHome),
      tmp: env.NGB_TMP_DIR || "/tmp",
    },
    proxyToken: env.NGB_PROXY_TOKEN || undefined,
    proxyTransport: env.NGB_PROXY_TRANSPORT === "stdio" ? "stdio" : "socket",
    anthropicBaseUrl: env.NGB_ANTHROPIC_BASE_URL || undefined,
    claudeExecutable: env.NGB_CLAUDE_EXECUTABLE || undefined,
    passthroughEnv,
    requestTimeoutMs: positive(env.NGB_REQUEST_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS),
  };
}

/**
 * The whole environment of the Claude Code process (the SDK's `env` option replaces it).
 * Only what the CLI needs: no host secrets, no NGB_* variables. Everything the CLI caches or
 * keeps outside its config dir goes to the temp dir (HOME is read-only in the container).
 */
export function claudeEnv(config: RunnerConfig, baseUrl: string, apiKey: string): Record<string, string> {
  const { tmp } = config.paths;
  return {
    ...config.passthroughEnv,
    HOME: config.paths.home,
    CLAUDE_CONFIG_DIR: config.paths.claudeConfigDir,
    TMPDIR: tmp,
    CLAUDE_CODE_TMPDIR: tmp,
    XDG_CACHE_HOME: join(tmp, ".cache"),
    XDG_STATE_HOME: join(tmp, ".local/state"),
    XDG_DATA_HOME: join(tmp, ".local/share"),
    XDG_CONFIG_HOME: join(tmp, ".config"),
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
