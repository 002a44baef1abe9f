/**
 * The paths ngb keeps for itself, which no extra mount may reach or contain: the data directory
 * (web token, proxy socket, groups' IPC and Claude session directories), the store (database,
 * WhatsApp login), the log file, the config file and `.env`, and the mount allowlist's folder.
 */
import { dirname, join, resolve } from "node:path";
import type { PrivatePath } from "./validate.ts";

export interface PrivatePathsConfig {
  dataDir: string;
  storeDir: string;
  log?: { file?: string | undefined };
  container?: { mountAllowlistPath?: string | undefined };
}

export interface PrivatePathsExtra {
  /** The config file in effect (LoadedConfig.file). */
  configFile?: string;
  /** The working directory, whose `.env` and `ngb.config.json` are read. */
  cwd?: string;
  /** Group folders' IPC / session directories when they live outside dataDir. */
  groupDirs?: string[];
}

export function ngbPrivatePaths(config: PrivatePathsConfig, extra: PrivatePathsExtra = {}): PrivatePath[] {
  const out: PrivatePath[] = [
    { path: resolve(config.dataDir), what: "ngb data directory" },
    { path: resolve(config.storeDir), what: "ngb store directory" },
  ];
  if (config.log?.file) out.push({ path: resolve(config.log.file), what: "ngb log file" });
  const allowlist = config.container?.mountAllowlistPath;
  if (allowlist) out.push({ path: dirname(resolve(allowlist)), what: "mount allowlist's folder" });
  if (extra.configFile) out.push({ path: resolve(extra.configFile), what: "ngb config file" });
  const cwd = extra.cwd ?? process.cwd();
  out.push({ path: join(cwd, ".env"), what: ".env file" });
  out.push({ path: join(cwd, "ngb.config.json"), what: "ngb config file" });
  for (const d of extra.groupDirs ?? []) out.push({ path: resolve(d), what: "group IPC/session directory" });
  return out;
}
