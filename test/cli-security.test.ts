/**
 * Security behaviour through the `ngb` command (issue 10): a config or .env others can write is
 * refused at start (or loudly allowed), files at rest are private, `config show` hides URL
 * credentials, `ngb logs` prints no terminal escapes, `doctor` flags an insecure install, and a
 * pid file naming an unrelated process does not block start-up.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isolatedEnv, runNgb, startServe, tempWorkdir } from "./support/ngb.ts";

const mode = (p: string) => statSync(p).mode & 0o777;

describe("ngb serve", () => {
  test("refuses a world-writable config file with one line naming it, its mode and the fix", async () => {
    using w = tempWorkdir();
    const file = join(w.dir, "ngb.config.json");
    writeFileSync(file, "{}");
    chmodSync(file, 0o666);
    const r = await runNgb(["serve", "--port", "0"], { cwd: w.dir });
    expect(r.code).toBe(1);
    const last = r.stderr.trim().split("\n").at(-1)!;
    expect(last).toStartWith("error: refusing to start: ");
    expect(last).toContain(`${file} is writable by group and others (mode 0666); fix: chmod 600 ${file}`);
    // A .env writable by others likewise.
    chmodSync(file, 0o600);
    writeFileSync(join(w.dir, ".env"), "NGB_LOG_LEVEL=info\n");
    chmodSync(join(w.dir, ".env"), 0o664);
    const env = await runNgb(["serve", "--port", "0"], { cwd: w.dir });
    expect(env.stderr).toContain(`${join(w.dir, ".env")} is writable by group (mode 0664)`);
  });

  test("--allow-insecure-config starts with a loud warning; files at rest are private", async () => {
    using w = tempWorkdir();
    writeFileSync(join(w.dir, "ngb.config.json"), "{}");
    chmodSync(join(w.dir, "ngb.config.json"), 0o666);
    // An older install left data/ open: it is tightened at start.
    mkdirSync(join(w.dir, "data"), { mode: 0o755 });
    chmodSync(join(w.dir, "data"), 0o755);
    const serve = await startServe({ cwd: w.dir, args: ["--allow-insecure-config"] });
    try {
      expect(serve.logs()).toContain("INSECURE CONFIG, started anyway");
      expect((await fetch(`${serve.url}/healthz`)).status).toBe(200);
      expect(mode(join(w.dir, "data"))).toBe(0o700);
      expect(mode(join(w.dir, "store"))).toBe(0o700);
      expect(mode(join(w.dir, "store", "ngb.db"))).toBe(0o600);
      expect(mode(join(w.dir, "store", "ngb.db-wal"))).toBe(0o600);
      expect(mode(join(w.dir, "data", "web-token"))).toBe(0o600);
      expect(mode(join(w.dir, "data", "ngb.pid"))).toBe(0o600);
    } finally {
      expect(await serve.stop("SIGTERM")).toBe(0);
    }
  });

  test("a pid file naming a live, unrelated process does not block start-up", async () => {
    using w = tempWorkdir();
    const other = Bun.spawn(["sleep", "30"], { stdout: "ignore", stderr: "ignore" });
    try {
      mkdirSync(join(w.dir, "data"), { recursive: true });
      writeFileSync(join(w.dir, "data", "ngb.pid"), `${other.pid}\n`);
      const serve = await startServe({ cwd: w.dir });
      expect((await fetch(`${serve.url}/readyz`)).status).toBe(200);
      expect(await serve.stop("SIGTERM")).toBe(0);
    } finally {
      other.kill();
    }
  });
});

test("config show hides user:pass inside URLs", async () => {
  using w = tempWorkdir();
  const env = isolatedEnv(w.dir, { NGB_ANTHROPIC_BASE_URL: "https://bob:hunter2@gateway.example/anthropic" });
  const show = await runNgb(["config", "show"], { cwd: w.dir, env });
  expect(show.code).toBe(0);
  expect(show.stdout).not.toContain("hunter2");
  expect(JSON.parse(show.stdout).config.anthropic.baseUrl).toBe("https://********@gateway.example/anthropic");
});

test("ngb logs prints agent output without terminal escapes or control characters", async () => {
  using w = tempWorkdir();
  mkdirSync(join(w.dir, "groups", "team"), { recursive: true });
  const logs = join(w.dir, "data", "logs", "team");
  mkdirSync(logs, { recursive: true });
  writeFileSync(
    join(logs, "container-1.log"),
    "start\n\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b]0;pwned\x07visible\r\x1b[31mred\x1b[0m\ttab\x00\nend\n",
  );
  const r = await runNgb(["logs", "team"], { cwd: w.dir });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("start\nvisiblered\ttab\nend\n");
});

test("ngb doctor flags an insecure install with the fix", async () => {
  using w = tempWorkdir();
  writeFileSync(join(w.dir, "ngb.config.json"), "{}");
  chmodSync(join(w.dir, "ngb.config.json"), 0o666);
  mkdirSync(join(w.dir, "store"), { recursive: true });
  writeFileSync(join(w.dir, "store", "ngb.db-wal"), "");
  chmodSync(join(w.dir, "store", "ngb.db-wal"), 0o644);
  const env = isolatedEnv(w.dir, { NGB_CONTAINER_RUNTIME: "no-such-container-cli" });
  const r = await runNgb(["doctor"], { cwd: w.dir, env });
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(
    /✗ config file: .*ngb\.config\.json is writable by group and others \(mode 0666\)\n\s+fix: chmod 600 /,
  );
  expect(r.stdout).toMatch(
    /✗ store file: .*ngb\.db-wal is readable by group or others \(mode 0644\)\n\s+fix: chmod 600 /,
  );
});

test("groups add refuses a catastrophic trigger regex", async () => {
  using w = tempWorkdir();
  const r = await runNgb(["groups", "add", "tg:1", "--folder", "team", "--trigger", "^(a+)+$"], {
    cwd: w.dir,
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`--trigger "^(a+)+$": a repetition inside a repetition`);
  const ok = await runNgb(["groups", "add", "tg:1", "--folder", "team", "--trigger", "^@bot\\b"], {
    cwd: w.dir,
  });
  expect(ok.code).toBe(0);
});
