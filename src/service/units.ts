/**
 * The service definitions `ngb service install` writes: a hardened systemd unit and a launchd
 * agent plist. Pure text from a `ServiceSpec`, so both are unit-tested (and the unit checked
 * with `systemd-analyze verify`) on any machine.
 */

export interface ServiceSpec {
  /** Command the service runs: the installed binary, then `serve` (from source: bun, main.ts, serve). */
  command: string[];
  /** Working directory of `ngb serve`: store/, data/, groups/, ngb.config.json live here. */
  dataDir: string;
  /** systemd: the data dir is the unit's own StateDirectory (`/var/lib/ngb`, `~/.local/state/ngb`). */
  stateDirectory?: string;
  /** Secrets (`KEY=value` lines, mode 0600), read by systemd / wrapped for launchd. */
  envFile: string;
  /** System-wide (root) or a user service. */
  scope: "system" | "user";
  /** launchd: where stdout/stderr go. */
  logFile?: string;
}

export const SERVICE_NAME = "ngb";
export const LAUNCHD_LABEL = "dev.nanogridbot.ngb";

/** Quote one argument for a systemd command line (systemd.service "COMMAND LINES"). */
export function systemdQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg.replace(/%/g, "%%");
  return `"${arg.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$")}"`;
}

/** A path setting whose value is taken literally (WorkingDirectory=, EnvironmentFile=): only `%` is special. */
function systemdPath(path: string): string {
  if (/[\n\r]/.test(path)) throw new Error(`path ${JSON.stringify(path)} cannot go into a unit file`);
  return path.replace(/%/g, "%%");
}

/**
 * The systemd unit. Hardening keeps what the docker CLI needs: the daemon's socket
 * (/run/docker.sock, or /run/user/<uid>/docker.sock when rootless) stays reachable because a
 * read-only mount does not stop connect() on a socket, and ProtectHome is read-only rather
 * than hidden (hiding it would also hide /run/user and ~/.docker). No MemoryDenyWriteExecute:
 * Bun's JIT needs writable+executable pages. No PrivateNetwork: channels talk to the internet.
 */
export function systemdUnit(spec: ServiceSpec): string {
  const lines = [
    "# Written by `ngb service install`; `ngb service uninstall` removes it.",
    "[Unit]",
    "Description=NanoGridBot (ngb serve)",
    "Documentation=https://github.com/nanogridbot/nanogridbot/blob/main/docs/install.md",
    ...(spec.scope === "system"
      ? ["After=network-online.target docker.service", "Wants=network-online.target"]
      : ["After=network-online.target"]),
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${spec.command.map(systemdQuote).join(" ")}`,
    `WorkingDirectory=${systemdPath(spec.dataDir)}`,
    ...(spec.stateDirectory ? [`StateDirectory=${spec.stateDirectory}`, "StateDirectoryMode=0700"] : []),
    `EnvironmentFile=-${systemdPath(spec.envFile)}`,
    "Restart=on-failure",
    "RestartSec=5s",
    "TimeoutStopSec=90s",
    "UMask=0077",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    `ReadWritePaths=${systemdQuote(spec.dataDir)}`,
    "ProtectHome=read-only",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "RestrictSUIDSGID=yes",
    "RestrictRealtime=yes",
    "LockPersonality=yes",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "",
    "[Install]",
    `WantedBy=${spec.scope === "system" ? "multi-user.target" : "default.target"}`,
    "",
  ];
  return lines.join("\n");
}

function xml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The launchd agent (~/Library/LaunchAgents). launchd has no EnvironmentFile: the job runs
 * /bin/sh, which exports the 0600 env file and execs ngb, so secrets stay out of the plist.
 */
export function launchdPlist(spec: ServiceSpec): string {
  const script = `set -a; [ -f ${shQuote(spec.envFile)} ] && . ${shQuote(spec.envFile)}; set +a; exec ${spec.command.map(shQuote).join(" ")}`;
  const log = spec.logFile ?? `${spec.dataDir}/data/logs/service.log`;
  const args = ["/bin/sh", "-c", script].map((a) => `    <string>${xml(a)}</string>`).join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>WorkingDirectory</key>
  <string>${xml(spec.dataDir)}</string>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardOutPath</key>
  <string>${xml(log)}</string>
  <key>StandardErrorPath</key>
  <string>${xml(log)}</string>
</dict>
</plist>
`;
}

/** Split a systemd `ExecStart=` value back into argv (the quoting `systemdQuote` writes). */
export function parseExecStart(unit: string): string[] {
  const line = unit.split("\n").find((l) => l.startsWith("ExecStart="));
  if (!line) throw new Error("unit has no ExecStart=");
  const s = line.slice("ExecStart=".length);
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (s[i] === " ") i++;
    if (i >= s.length) break;
    let arg = "";
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === "\\") i++;
        arg += s[i++];
      }
      i++;
    } else {
      while (i < s.length && s[i] !== " ") arg += s[i++];
    }
    out.push(arg.replace(/%%/g, "%").replace(/\$\$/g, "$"));
  }
  return out;
}
