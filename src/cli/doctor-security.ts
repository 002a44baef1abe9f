/**
 * `ngb doctor`'s install checks: what other local users could read or change. The store (and its
 * WAL), the data directory, the web token, the log file, the channel logins, the config file,
 * `.env` and the mount allowlist; and root running agents as root. Each finding says the fix.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Config } from "../config/index.ts";
import { modeText, unsafeToTrust } from "../util/private-fs.ts";
import type { CheckResult } from "./doctor.ts";

export interface SecurityCheckOptions {
  configFile?: string;
  envFile?: string;
  /** The container user in effect (`containerUser(config.container)`); undefined = the image's. */
  containerUser?: string;
  uid?: number;
}

function modeOf(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}

/** A private file or directory: nothing for group or others. */
function privateCheck(name: string, path: string, dir: boolean): CheckResult | null {
  const mode = modeOf(path);
  if (mode === null) return null;
  if ((mode & 0o077) === 0) return { name, status: "ok", detail: `${path} (${modeText(mode)})` };
  const readable = mode & 0o044 ? "readable" : "accessible";
  return {
    name,
    status: "fail",
    detail: `${path} is ${mode & 0o022 ? "writable" : readable} by group or others (mode ${modeText(mode)})`,
    fix: `chmod ${dir ? "700" : "600"} ${path}`,
  };
}

export function securityChecks(config: Config, options: SecurityCheckOptions = {}): CheckResult[] {
  const out: CheckResult[] = [];
  const push = (r: CheckResult | null) => r && out.push(r);
  push(privateCheck("data directory", config.dataDir, true));
  push(privateCheck("store directory", config.storeDir, true));
  const db = join(config.storeDir, config.dbFile);
  for (const f of [db, `${db}-wal`, `${db}-shm`]) push(privateCheck("store file", f, false));
  push(privateCheck("web token", join(config.dataDir, "web-token"), false));
  if (config.log.file) push(privateCheck("log file", config.log.file, false));
  const wa = join(config.storeDir, "whatsapp-auth");
  if (existsSync(wa)) {
    push(privateCheck("WhatsApp login", wa, true));
    push(privateCheck("WhatsApp login", join(wa, "creds.json"), false));
  }
  for (const [name, file] of [
    ["config file", options.configFile],
    [".env", options.envFile],
    ["mount allowlist", config.container.mountAllowlistPath],
  ] as const) {
    if (!file || !existsSync(file)) continue;
    const problem = unsafeToTrust(file);
    out.push(
      problem
        ? {
            name,
            status: "fail",
            detail: problem.replace(/; fix: .*$/, ""),
            fix: problem.replace(/^.*; fix: /, ""),
          }
        : { name, status: "ok", detail: `${file} (${modeText(modeOf(file) ?? 0)})` },
    );
  }
  const allowDir = config.container.mountAllowlistPath ? dirname(config.container.mountAllowlistPath) : null;
  if (allowDir && existsSync(allowDir)) {
    const mode = modeOf(allowDir) ?? 0;
    if (mode & 0o022)
      out.push({
        name: "mount allowlist folder",
        status: "fail",
        detail: `${allowDir} is writable by group or others (mode ${modeText(mode)}): the allowlist can be replaced`,
        fix: `chmod 700 ${allowDir}`,
      });
  }
  const uid = options.uid ?? process.getuid?.();
  const user = options.containerUser;
  if (uid === 0) {
    const rootAgents = user === undefined || /^(0|root)(:|$)/.test(user);
    out.push({
      name: "privileges",
      status: rootAgents ? "fail" : "warn",
      detail: rootAgents
        ? `ngb runs as root and agents run as ${user ?? "the image's default user"} in their containers`
        : `ngb runs as root (agents run as ${user})`,
      fix: rootAgents
        ? "run ngb as an unprivileged user (e.g. User=ngb in the systemd unit), or set container.user to an unprivileged uid:gid like 1000:1000"
        : "run ngb as an unprivileged user (e.g. User=ngb in the systemd unit)",
    });
  }
  return out;
}
