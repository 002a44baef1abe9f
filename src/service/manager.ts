/**
 * `ngb service …` operations on systemd (Linux) or launchd (macOS). Every call to systemctl,
 * journalctl or launchctl goes through the injected `run`, so tests drive a fake; files are
 * written under the injected home/root so tests use a temp dir.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UserError } from "../util/errors.ts";
import { LAUNCHD_LABEL, launchdPlist, SERVICE_NAME, type ServiceSpec, systemdUnit } from "./units.ts";

export class ServiceError extends UserError {
  override name = "ServiceError";
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ServiceDeps {
  /** Run a service-manager command; `inherit` streams to the terminal (logs -f). */
  run(argv: string[], opts?: { inherit?: boolean }): Promise<RunResult>;
  platform: NodeJS.Platform;
  uid: number;
  home: string;
  /** `/` in production; a temp dir in tests (system-wide files go under it). */
  root?: string;
  xdgConfigHome?: string;
  /** How to start ngb: the installed binary (or bun + main.ts from source). */
  ngbCommand: string[];
}

export interface ServiceOptions {
  /** Force a user service even as root. */
  user?: boolean;
  /** Data (working) directory; default the service's own state directory. */
  dataDir?: string;
}

interface Layout {
  kind: "systemd" | "launchd";
  scope: "system" | "user";
  definition: string;
  spec: ServiceSpec;
  ctl: string[];
}

function layout(deps: ServiceDeps, opts: ServiceOptions): Layout {
  const root = deps.root ?? "/";
  const configHome = deps.xdgConfigHome || join(deps.home, ".config");
  if (deps.platform === "darwin") {
    const dataDir = resolve(opts.dataDir ?? join(deps.home, "Library", "Application Support", "ngb"));
    return {
      kind: "launchd",
      scope: "user",
      definition: join(deps.home, "Library", "LaunchAgents", `${LAUNCHD_LABEL}.plist`),
      spec: {
        command: [...deps.ngbCommand, "serve"],
        dataDir,
        envFile: join(configHome, "ngb", "ngb.env"),
        scope: "user",
        logFile: join(deps.home, "Library", "Logs", "ngb.log"),
      },
      ctl: ["launchctl"],
    };
  }
  if (deps.platform !== "linux")
    throw new ServiceError(`ngb service supports Linux (systemd) and macOS (launchd), not ${deps.platform}`);
  const system = deps.uid === 0 && !opts.user;
  // The default data dir is the unit's own StateDirectory= (systemd creates and owns it).
  const stateDirectory = opts.dataDir ? undefined : SERVICE_NAME;
  const dataDir = opts.dataDir
    ? resolve(opts.dataDir)
    : system
      ? join(root, "var/lib", SERVICE_NAME)
      : join(deps.home, ".local/state", SERVICE_NAME);
  return {
    kind: "systemd",
    scope: system ? "system" : "user",
    definition: system
      ? join(root, "etc/systemd/system", `${SERVICE_NAME}.service`)
      : join(configHome, "systemd/user", `${SERVICE_NAME}.service`),
    spec: {
      command: [...deps.ngbCommand, "serve"],
      dataDir,
      ...(stateDirectory ? { stateDirectory } : {}),
      envFile: system ? join(root, "etc", SERVICE_NAME, "ngb.env") : join(configHome, "ngb", "ngb.env"),
      scope: system ? "system" : "user",
    },
    ctl: system ? ["systemctl"] : ["systemctl", "--user"],
  };
}

const ENV_TEMPLATE = `# Secrets for the ngb service (mode 0600). KEY=value lines; see \`ngb config schema\` for names.
# ANTHROPIC_API_KEY=sk-ant-...
# NGB_TELEGRAM_BOT_TOKEN=...
`;

async function must(deps: ServiceDeps, argv: string[], what: string): Promise<RunResult> {
  const r = await deps.run(argv);
  if (r.code !== 0)
    throw new ServiceError(
      `${what} failed: ${argv.join(" ")}: ${(r.stderr || r.stdout).trim().split("\n")[0] ?? ""}`,
    );
  return r;
}

export interface InstallResult {
  definition: string;
  envFile: string;
  dataDir: string;
  scope: "system" | "user";
}

export async function installService(deps: ServiceDeps, opts: ServiceOptions = {}): Promise<InstallResult> {
  const l = layout(deps, opts);
  const text = l.kind === "systemd" ? systemdUnit(l.spec) : launchdPlist(l.spec);
  try {
    mkdirSync(dirname(l.definition), { recursive: true });
    // The env file holds secrets: created 0600 and kept (never overwritten) on reinstall.
    mkdirSync(dirname(l.spec.envFile), { recursive: true, mode: 0o700 });
    if (!existsSync(l.spec.envFile)) writeFileSync(l.spec.envFile, ENV_TEMPLATE, { mode: 0o600 });
    chmodSync(l.spec.envFile, 0o600);
    if (!l.spec.stateDirectory) mkdirSync(l.spec.dataDir, { recursive: true, mode: 0o700 });
    if (l.spec.logFile) mkdirSync(dirname(l.spec.logFile), { recursive: true });
    writeFileSync(l.definition, text, { mode: 0o644 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ServiceError(
      `cannot write ${e.path ?? l.definition} (${e.code ?? e.message})${l.scope === "system" ? "" : "; run as root for a system-wide service"}`,
    );
  }
  if (l.kind === "systemd") {
    await must(deps, [...l.ctl, "daemon-reload"], "reloading systemd");
    await must(deps, [...l.ctl, "enable", "--now", `${SERVICE_NAME}.service`], "enabling the service");
  } else {
    const domain = `gui/${deps.uid}`;
    await deps.run(["launchctl", "bootout", `${domain}/${LAUNCHD_LABEL}`]); // replace a loaded one
    await must(deps, ["launchctl", "bootstrap", domain, l.definition], "loading the launch agent");
  }
  return { definition: l.definition, envFile: l.spec.envFile, dataDir: l.spec.dataDir, scope: l.scope };
}

export async function uninstallService(deps: ServiceDeps, opts: ServiceOptions = {}): Promise<string> {
  const l = layout(deps, opts);
  if (!existsSync(l.definition))
    throw new ServiceError(`no ngb service is installed (${l.definition} not found)`);
  if (l.kind === "systemd") {
    await deps.run([...l.ctl, "disable", "--now", `${SERVICE_NAME}.service`]);
    rmSync(l.definition, { force: true });
    await must(deps, [...l.ctl, "daemon-reload"], "reloading systemd");
  } else {
    await deps.run(["launchctl", "bootout", `gui/${deps.uid}/${LAUNCHD_LABEL}`]);
    rmSync(l.definition, { force: true });
  }
  return l.definition;
}

export function isServiceInstalled(deps: ServiceDeps, opts: ServiceOptions = {}): boolean {
  try {
    return existsSync(layout(deps, opts).definition);
  } catch {
    return false;
  }
}

export interface ServiceStatus {
  installed: boolean;
  definition: string;
  scope: "system" | "user";
  active?: string;
  sub?: string;
  pid?: number;
  enabled?: string;
}

export async function serviceStatus(deps: ServiceDeps, opts: ServiceOptions = {}): Promise<ServiceStatus> {
  const l = layout(deps, opts);
  const base = { definition: l.definition, scope: l.scope };
  if (!existsSync(l.definition)) return { installed: false, ...base };
  if (l.kind === "systemd") {
    const r = await must(
      deps,
      [...l.ctl, "show", `${SERVICE_NAME}.service`, "--property=ActiveState,SubState,MainPID,UnitFileState"],
      "reading the service state",
    );
    const props = Object.fromEntries(
      r.stdout
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    const pid = Number(props.MainPID);
    return {
      installed: true,
      ...base,
      active: props.ActiveState,
      sub: props.SubState,
      enabled: props.UnitFileState,
      ...(pid > 0 ? { pid } : {}),
    };
  }
  const r = await deps.run(["launchctl", "print", `gui/${deps.uid}/${LAUNCHD_LABEL}`]);
  const state = /^\s*state = (\S+)/m.exec(r.stdout)?.[1];
  const pid = Number(/^\s*pid = (\d+)/m.exec(r.stdout)?.[1] ?? 0);
  return {
    installed: true,
    ...base,
    active: r.code === 0 ? (state ?? "unknown") : "not loaded",
    ...(pid ? { pid } : {}),
  };
}

export async function restartService(deps: ServiceDeps, opts: ServiceOptions = {}): Promise<void> {
  const l = layout(deps, opts);
  if (!existsSync(l.definition))
    throw new ServiceError(`no ngb service is installed (${l.definition} not found)`);
  if (l.kind === "systemd") await must(deps, [...l.ctl, "restart", `${SERVICE_NAME}.service`], "restarting");
  else await must(deps, ["launchctl", "kickstart", "-k", `gui/${deps.uid}/${LAUNCHD_LABEL}`], "restarting");
}

export async function serviceLogs(
  deps: ServiceDeps,
  opts: ServiceOptions & { lines?: number; follow?: boolean } = {},
): Promise<number> {
  const l = layout(deps, opts);
  if (!existsSync(l.definition))
    throw new ServiceError(`no ngb service is installed (${l.definition} not found)`);
  const n = String(opts.lines ?? 200);
  const argv =
    l.kind === "systemd"
      ? [
          "journalctl",
          ...(l.scope === "user" ? ["--user"] : []),
          "-u",
          `${SERVICE_NAME}.service`,
          "-n",
          n,
          "--no-pager",
          ...(opts.follow ? ["-f"] : []),
        ]
      : ["tail", "-n", n, ...(opts.follow ? ["-F"] : []), l.spec.logFile!];
  return (await deps.run(argv, { inherit: true })).code;
}

/** The service definition as installed (tests, `status --json`). */
export function readDefinition(deps: ServiceDeps, opts: ServiceOptions = {}): string | undefined {
  const l = layout(deps, opts);
  return existsSync(l.definition) && statSync(l.definition).isFile()
    ? readFileSync(l.definition, "utf8")
    : undefined;
}
