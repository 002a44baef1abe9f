/**
 * `ngb service install` as a user runs it, with a fake `systemctl` on PATH (no systemd runs
 * here): the unit it writes passes `systemd-analyze verify` (Debian's systemd package; scripts/
 * test.sh installs it), and its ExecStart line, started for real in its WorkingDirectory with
 * its EnvironmentFile, serves /healthz.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installService, parseExecStart, systemdUnit } from "../src/service/index.ts";
import { isolatedEnv, ngbArgv, runNgb, tempWorkdir } from "./support/ngb.ts";
import { until } from "./support/wait.ts";

const w = tempWorkdir("ngb-service-");
afterAll(() => w[Symbol.dispose]());

/** `systemd-analyze verify`: exit 0 and no warnings (unknown keys only warn). */
function verifyUnit(file: string): string {
  const which = Bun.spawnSync(["sh", "-c", "command -v systemd-analyze"]);
  if (which.exitCode !== 0)
    throw new Error("systemd-analyze not found: install Debian's systemd package (apt-get install systemd)");
  const r = Bun.spawnSync(["systemd-analyze", "verify", file], { stdout: "pipe", stderr: "pipe" });
  return `${r.exitCode}\n${r.stdout.toString()}${r.stderr.toString()}`.trim();
}

function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

describe("ngb service install (systemd)", () => {
  const home = join(w.dir, "home");
  const bin = join(w.dir, "bin");
  mkdirSync(bin, { recursive: true });
  // A fake systemctl: records its arguments and answers `show` the way systemd does.
  writeFileSync(
    join(bin, "systemctl"),
    `#!/bin/sh\necho "$*" >> "${join(w.dir, "systemctl.log")}"\ncase "$*" in *show*) printf 'ActiveState=active\\nSubState=running\\nMainPID=99\\nUnitFileState=enabled\\n' ;; esac\n`,
  );
  chmodSync(join(bin, "systemctl"), 0o755);
  const env = isolatedEnv(w.dir, {
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    PATH: `${bin}:${process.env.PATH}`,
  });

  test("the unit verifies, its ExecStart serves /healthz from the data dir with the env file", async () => {
    const data = join(w.dir, "data dir");
    const r = await runNgb(["service", "install", "--user", "--data-dir", data], { cwd: w.dir, env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("installed and started the user service");
    expect(readFileSync(join(w.dir, "systemctl.log"), "utf8")).toBe(
      "--user daemon-reload\n--user enable --now ngb.service\n",
    );
    const unitFile = join(home, ".config/systemd/user/ngb.service");
    const unit = readFileSync(unitFile, "utf8");
    expect(verifyUnit(unitFile)).toBe("0");

    const status = await runNgb(["service", "status", "--user", "--data-dir", data], { cwd: w.dir, env });
    expect(status.stdout).toMatch(/user service .*: active \(running\), pid 99, enabled/);

    // Start the ExecStart line the way systemd would: in WorkingDirectory, with EnvironmentFile.
    const argv = parseExecStart(unit);
    expect(argv).toEqual([...ngbArgv(), "serve"]);
    const workdir = /^WorkingDirectory=(.*)$/m.exec(unit)![1]!;
    expect(workdir).toBe(data);
    const envFile = /^EnvironmentFile=-(.*)$/m.exec(unit)![1]!;
    const port = freePort();
    writeFileSync(envFile, `${readFileSync(envFile, "utf8")}NGB_WEB_PORT=${port}\n`);
    const fileEnv = Object.fromEntries(
      readFileSync(envFile, "utf8")
        .split("\n")
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    const proc = Bun.spawn(argv, {
      cwd: workdir,
      env: { ...isolatedEnv(w.dir), ...fileEnv },
      stdout: "ignore",
      stderr: "pipe",
    });
    try {
      const health = await until(
        async () => {
          try {
            const res = await fetch(`http://127.0.0.1:${port}/healthz`);
            return res.ok ? res : undefined;
          } catch {
            return undefined;
          }
        },
        { what: "/healthz of the unit's ExecStart", timeoutMs: 30_000 },
      );
      expect(health.status).toBe(200);
      // Ready (signal handlers installed) before the stop below, so the stop is a clean one.
      await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, {
        what: "/readyz",
        timeoutMs: 30_000,
      });
      expect(readFileSync(join(data, "data/web-token"), "utf8").length).toBeGreaterThan(10);
    } finally {
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
    }

    const un = await runNgb(["service", "uninstall", "--user", "--data-dir", data], { cwd: w.dir, env });
    expect(un.code).toBe(0);
    const gone = await runNgb(["service", "status", "--user"], { cwd: w.dir, env });
    expect(gone.stdout).toContain("not installed");
    expect(gone.code).toBe(3);
  }, 60_000);

  test("the system-wide unit (as root: StateDirectory=ngb, /var/lib/ngb) verifies too", async () => {
    const root = join(w.dir, "root");
    const r = await installService(
      {
        run: async () => ({ code: 0, stdout: "", stderr: "" }),
        platform: "linux",
        uid: 0,
        home,
        root,
        ngbCommand: ngbArgv(),
      },
      {},
    );
    const unit = readFileSync(r.definition, "utf8");
    expect(unit).toContain("StateDirectory=ngb\n");
    expect(verifyUnit(r.definition)).toBe("0");
    // A broken unit is caught by the same check (so the check can fail).
    const bad = join(w.dir, "bad.service");
    writeFileSync(
      bad,
      systemdUnit({ command: ["relative/ngb", "serve"], dataDir: "rel", envFile: "/e", scope: "system" }),
    );
    expect(verifyUnit(bad)).not.toBe("0");
  });
});
