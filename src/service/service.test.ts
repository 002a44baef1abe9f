import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  installService,
  isServiceInstalled,
  launchdPlist,
  parseExecStart,
  restartService,
  type RunResult,
  type ServiceDeps,
  serviceLogs,
  serviceStatus,
  systemdUnit,
  uninstallService,
} from "./index.ts";

/**
 * A fake systemctl/journalctl/launchctl that keeps unit state the way systemd reports it
 * (`systemctl show` prints Key=Value lines), and fails the way it does for unknown units.
 */
function fakeManager() {
  const calls: string[][] = [];
  const state = { loaded: false, enabled: false, active: false, pid: 0, starts: 0 };
  const run = async (argv: string[]): Promise<RunResult> => {
    calls.push(argv);
    const args = argv.filter((a) => a !== "--user");
    const ok = (stdout = ""): RunResult => ({ code: 0, stdout, stderr: "" });
    if (args[0] === "systemctl") {
      switch (args[1]) {
        case "daemon-reload":
          state.loaded = true;
          return ok();
        case "enable":
          if (!state.loaded)
            return {
              code: 1,
              stdout: "",
              stderr: "Failed to enable unit: Unit file ngb.service does not exist.",
            };
          state.enabled = true;
          if (args.includes("--now"))
            Object.assign(state, { active: true, pid: 4242, starts: state.starts + 1 });
          return ok();
        case "disable":
          Object.assign(state, { enabled: false, active: false, pid: 0 });
          return ok();
        case "restart":
          Object.assign(state, { active: true, pid: state.pid + 1, starts: state.starts + 1 });
          return ok();
        case "show":
          return ok(
            `ActiveState=${state.active ? "active" : "inactive"}\nSubState=${state.active ? "running" : "dead"}\nMainPID=${state.pid}\nUnitFileState=${state.enabled ? "enabled" : "disabled"}\n`,
          );
      }
    }
    if (args[0] === "journalctl")
      return ok("Nov 30 12:00:00 host ngb[4242]: ngb listening on http://127.0.0.1:3000\n");
    if (args[0] === "launchctl") {
      if (args[1] === "print")
        return state.active
          ? ok(`\tstate = running\n\tpid = ${state.pid}\n`)
          : { code: 113, stdout: "", stderr: "Could not find service" };
      if (args[1] === "bootstrap") Object.assign(state, { active: true, pid: 77, starts: state.starts + 1 });
      if (args[1] === "bootout") Object.assign(state, { active: false, pid: 0 });
      if (args[1] === "kickstart") Object.assign(state, { pid: state.pid + 1, starts: state.starts + 1 });
      return ok();
    }
    if (args[0] === "tail") return ok("log line\n");
    return { code: 127, stdout: "", stderr: `${argv[0]}: not found` };
  };
  return { calls, state, run };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(platform: NodeJS.Platform, uid: number) {
  const dir = mkdtempSync(join(tmpdir(), "ngb-svc-"));
  dirs.push(dir);
  const fake = fakeManager();
  const deps: ServiceDeps = {
    run: fake.run,
    platform,
    uid,
    home: join(dir, "home"),
    root: join(dir, "root"),
    ngbCommand: ["/usr/local/bin/ngb"],
  };
  return { dir, fake, deps };
}

describe("systemd unit", () => {
  test("hardened, restarts on failure, runs the binary in the data dir with a secrets file", () => {
    const unit = systemdUnit({
      command: ["/opt/my ngb/ngb", "serve"],
      dataDir: "/srv/ngb data",
      envFile: "/etc/ngb/ngb.env",
      scope: "system",
    });
    for (const line of [
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      'ReadWritePaths="/srv/ngb data"',
      "WorkingDirectory=/srv/ngb data",
      "EnvironmentFile=-/etc/ngb/ngb.env",
      "Restart=on-failure",
      "ProtectHome=read-only",
      "WantedBy=multi-user.target",
    ])
      expect(unit).toContain(`${line}\n`);
    expect(unit).not.toContain("MemoryDenyWriteExecute"); // would break Bun's JIT
    expect(unit).not.toContain("PrivateNetwork"); // channels need the internet
    expect(parseExecStart(unit)).toEqual(["/opt/my ngb/ngb", "serve"]);
  });

  test("launchd plist: label, data dir, keep-alive on failure, secrets sourced from the env file", () => {
    const plist = launchdPlist({
      command: ["/usr/local/bin/ngb", "serve"],
      dataDir: "/Users/a/Library/Application Support/ngb",
      envFile: "/Users/a/.config/ngb/ngb.env",
      scope: "user",
      logFile: "/Users/a/Library/Logs/ngb.log",
    });
    expect(plist).toContain("<string>dev.nanogridbot.ngb</string>");
    expect(plist).toContain(
      "<key>WorkingDirectory</key>\n  <string>/Users/a/Library/Application Support/ngb</string>",
    );
    expect(plist).toMatch(/<key>SuccessfulExit<\/key>\s*<false\/>/);
    expect(plist).toContain("exec &apos;/usr/local/bin/ngb&apos; &apos;serve&apos;".replace(/&apos;/g, "'"));
    expect(plist).toContain(". '/Users/a/.config/ngb/ngb.env'");
    // Well-formed XML with the plist DTD's shape.
    expect(plist.match(/<dict>/g)?.length).toBe(plist.match(/<\/dict>/g)?.length);
  });
});

describe("ngb service on systemd (fake systemctl)", () => {
  test("as root: system unit + 0600 env file, enabled and started; status, restart, logs, uninstall", async () => {
    const { deps, fake } = setup("linux", 0);
    expect(isServiceInstalled(deps)).toBe(false);
    expect((await serviceStatus(deps)).installed).toBe(false);
    const r = await installService(deps);
    expect(r.scope).toBe("system");
    expect(r.definition).toEndWith("/etc/systemd/system/ngb.service");
    expect(r.dataDir).toEndWith("/var/lib/ngb");
    const unit = readFileSync(r.definition, "utf8");
    expect(unit).toContain("StateDirectory=ngb\n");
    expect(parseExecStart(unit)).toEqual(["/usr/local/bin/ngb", "serve"]);
    expect(statSync(r.envFile).mode & 0o777).toBe(0o600);
    expect(fake.calls).toEqual([
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "ngb.service"],
    ]);
    expect(await serviceStatus(deps)).toMatchObject({
      installed: true,
      active: "active",
      sub: "running",
      pid: 4242,
      enabled: "enabled",
    });
    await restartService(deps);
    expect(fake.state.starts).toBe(2);
    expect((await serviceStatus(deps)).pid).toBe(4243);
    expect(await serviceLogs(deps, { lines: 50 })).toBe(0);
    expect(fake.calls.at(-1)).toEqual(["journalctl", "-u", "ngb.service", "-n", "50", "--no-pager"]);

    // A reinstall keeps the secrets already written.
    writeFileSync(r.envFile, "ANTHROPIC_API_KEY=sk-ant-kept\n");
    await installService(deps);
    expect(readFileSync(r.envFile, "utf8")).toBe("ANTHROPIC_API_KEY=sk-ant-kept\n");

    await uninstallService(deps);
    expect(existsSync(r.definition)).toBe(false);
    expect(existsSync(r.envFile)).toBe(true);
    expect(fake.state.active).toBe(false);
    await expect(restartService(deps)).rejects.toThrow(/no ngb service is installed/);
  });

  test("not root: a --user unit under ~/.config/systemd/user; --data-dir sets WorkingDirectory", async () => {
    const { deps, fake, dir } = setup("linux", 1000);
    const data = join(dir, "my data");
    const r = await installService(deps, { dataDir: data });
    expect(r.scope).toBe("user");
    expect(r.definition).toBe(join(deps.home, ".config/systemd/user/ngb.service"));
    const unit = readFileSync(r.definition, "utf8");
    expect(unit).toContain(`WorkingDirectory=${data}\n`);
    expect(unit).not.toContain("StateDirectory=");
    expect(unit).toContain("WantedBy=default.target");
    expect(existsSync(data)).toBe(true);
    expect(fake.calls[0]).toEqual(["systemctl", "--user", "daemon-reload"]);
    await serviceLogs(deps, { follow: true });
    expect(fake.calls.at(-1)).toEqual([
      "journalctl",
      "--user",
      "-u",
      "ngb.service",
      "-n",
      "200",
      "--no-pager",
      "-f",
    ]);
  });

  test("systemctl failing is one clear error naming the command", async () => {
    const { deps } = setup("linux", 0);
    deps.run = async (argv) =>
      argv[1] === "daemon-reload"
        ? {
            code: 1,
            stdout: "",
            stderr: "System has not been booted with systemd as init system (PID 1). Can't operate.\n",
          }
        : { code: 0, stdout: "", stderr: "" };
    await expect(installService(deps)).rejects.toThrow(
      /reloading systemd failed: systemctl daemon-reload: System has not been booted with systemd/,
    );
  });
});

describe("ngb service on macOS (fake launchctl)", () => {
  test("install bootstraps the agent in the gui domain; status, restart, uninstall", async () => {
    const { deps, fake } = setup("darwin", 501);
    const r = await installService(deps);
    expect(r.definition).toBe(join(deps.home, "Library/LaunchAgents/dev.nanogridbot.ngb.plist"));
    expect(fake.calls.at(-1)).toEqual(["launchctl", "bootstrap", "gui/501", r.definition]);
    expect(await serviceStatus(deps)).toMatchObject({ installed: true, active: "running", pid: 77 });
    await restartService(deps);
    expect(fake.calls.at(-1)).toEqual(["launchctl", "kickstart", "-k", "gui/501/dev.nanogridbot.ngb"]);
    await uninstallService(deps);
    expect(existsSync(r.definition)).toBe(false);
  });

  test("an unsupported OS is refused", async () => {
    const { deps } = setup("freebsd", 0);
    await expect(installService(deps)).rejects.toThrow(
      /supports Linux \(systemd\) and macOS \(launchd\), not freebsd/,
    );
  });
});
