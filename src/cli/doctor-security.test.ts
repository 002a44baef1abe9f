import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config/index.ts";
import { securityChecks } from "./doctor-security.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-doctor-sec-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function install(open: boolean) {
  const m = (p: string, mode: number) => chmodSync(p, open ? mode : mode & 0o700);
  for (const d of ["data", "store", ".xdg/nanogridbot"]) mkdirSync(join(dir, d), { recursive: true });
  m(join(dir, "data"), 0o755);
  m(join(dir, "store"), 0o755);
  for (const f of ["store/ngb.db", "store/ngb.db-wal", "data/web-token"]) {
    writeFileSync(join(dir, f), "x");
    m(join(dir, f), 0o644);
  }
  for (const f of ["ngb.config.json", ".env", ".xdg/nanogridbot/mount-allowlist.json"]) {
    writeFileSync(join(dir, f), f.endsWith(".env") ? "" : "{}");
    chmodSync(join(dir, f), open ? 0o666 : 0o600);
  }
  const loaded = loadConfig({ cwd: dir, env: { XDG_CONFIG_HOME: join(dir, ".xdg") } });
  return securityChecks(loaded.config, {
    configFile: loaded.file,
    envFile: loaded.envFile,
    uid: open ? 0 : 1000,
    containerUser: open ? "0:0" : "1000:1000",
  });
}

test("an insecure install is flagged item by item, each with its fix", () => {
  const results = install(true);
  const failed = results.filter((r) => r.status === "fail");
  const text = failed.map((r) => `${r.name}: ${r.detail} → ${r.fix}`).join("\n");
  for (const what of [
    `data directory: ${join(dir, "data")} is readable by group or others (mode 0755) → chmod 700 ${join(dir, "data")}`,
    `store file: ${join(dir, "store", "ngb.db")} is readable by group or others (mode 0644) → chmod 600`,
    `store file: ${join(dir, "store", "ngb.db-wal")} is readable`,
    "web token:",
    `config file: ${join(dir, "ngb.config.json")} is writable by group and others (mode 0666) → chmod 600`,
    `.env: ${join(dir, ".env")} is writable`,
    "mount allowlist:",
    "privileges: ngb runs as root and agents run as 0:0",
  ])
    expect(text).toContain(what);
});

test("a private install passes", () => {
  const results = install(false);
  expect(results.filter((r) => r.status !== "ok")).toEqual([]);
  expect(results.length).toBeGreaterThanOrEqual(7);
});
