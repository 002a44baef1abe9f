import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeAnthropic } from "./fakes/anthropic.ts";
import { COMMANDS } from "../src/main.ts";
import { isolatedEnv, runNgb, startServe, tempWorkdir } from "./support/ngb.ts";

/** A user mistake: exit 1, one `error:` line, no stack trace. */
function expectOneLineError(r: { code: number; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split("\n");
  expect(lines[lines.length - 1]).toMatch(/^error: /);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe("ngb CLI", () => {
  test("--help lists every subcommand; --version prints version and commit", async () => {
    using w = tempWorkdir();
    const help = await runNgb(["--help"], { cwd: w.dir });
    expect(help.code).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(help.stdout).toMatch(new RegExp(`^  ${name}\\s`, "m"));
    const version = await runNgb(["--version"], { cwd: w.dir });
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^ngb \d+\.\d+\.\d+ \([\w-]+\)$/m);
    const serveHelp = await runNgb(["serve", "--help"], { cwd: w.dir });
    expect(serveHelp.stdout).toContain("ngb serve [OPTIONS]");
    expect(serveHelp.stdout).not.toContain("serve serve");
    expect((await runNgb(["tasks", "add", "--help"], { cwd: w.dir })).stdout).toContain("ngb tasks add");
    const json = await runNgb(["version", "--json"], { cwd: w.dir });
    expect(JSON.parse(json.stdout)).toMatchObject({
      version: expect.any(String),
      commit: expect.any(String),
    });
  });

  test("misuse: unknown command, unknown flag, bad flag value", async () => {
    using w = tempWorkdir();
    expectOneLineError(await runNgb(["frobnicate"], { cwd: w.dir }), /unknown command "frobnicate"/);
    expectOneLineError(await runNgb(["serve", "--bogus"], { cwd: w.dir }), /unknown option "--bogus"/);
    expectOneLineError(
      await runNgb(["serve", "--port", "http"], { cwd: w.dir }),
      /--port must be a whole number/,
    );
    expectOneLineError(await runNgb(["groups", "explode"], { cwd: w.dir }), /unknown subcommand "explode"/);
  });

  test("bad config: invalid JSON, wrong types, bad env values", async () => {
    using w = tempWorkdir();
    writeFileSync(join(w.dir, "ngb.config.json"), "{ not json");
    expectOneLineError(await runNgb(["config", "show"], { cwd: w.dir }), /invalid JSON/);
    writeFileSync(join(w.dir, "ngb.config.json"), JSON.stringify({ web: { port: "x" } }));
    expectOneLineError(await runNgb(["serve"], { cwd: w.dir }), /web\.port/);
    writeFileSync(join(w.dir, "ngb.config.json"), "{}");
    const env = isolatedEnv(w.dir, { NGB_WEB_PORT: "eighty" });
    expectOneLineError(
      await runNgb(["serve"], { cwd: w.dir, env }),
      /web\.port: expected a number, got "eighty"/,
    );
  });

  test("config show redacts secrets; config schema is JSON Schema", async () => {
    using w = tempWorkdir();
    const env = isolatedEnv(w.dir, { ANTHROPIC_API_KEY: "sk-ant-very-secret", NGB_WEB_TOKEN: "tok-secret" });
    const show = await runNgb(["config", "show"], { cwd: w.dir, env });
    expect(show.code).toBe(0);
    expect(show.stdout).not.toContain("very-secret");
    expect(show.stdout).not.toContain("tok-secret");
    expect(JSON.parse(show.stdout).config.anthropic.apiKey).toBe("********");
    const schema = await runNgb(["config", "schema"], { cwd: w.dir });
    const parsed = JSON.parse(schema.stdout);
    expect(parsed.type).toBe("object");
    expect(parsed.properties.web.properties.port.type).toBe("integer");
    expect(parsed.properties.channels.properties.telegram).toBeDefined();
  });

  test("groups add / list / remove", async () => {
    using w = tempWorkdir();
    const add = await runNgb(["groups", "add", "tg:-100", "--folder", "family", "--name", "Family"], {
      cwd: w.dir,
    });
    expect(add.code).toBe(0);
    expect(existsSync(join(w.dir, "groups", "family", "CLAUDE.md"))).toBe(true);
    expectOneLineError(
      await runNgb(["groups", "add", "tg:-200", "--folder", "family"], { cwd: w.dir }),
      /folder "family" is already registered/,
    );
    expectOneLineError(
      await runNgb(["groups", "add", "tg:-300", "--folder", "../etc"], { cwd: w.dir }),
      /--folder "..\/etc"/,
    );
    // Reserved for the host (the IPC error directory): refused with one line, nothing created.
    expectOneLineError(
      await runNgb(["groups", "add", "tg:-400", "--folder", "errors"], { cwd: w.dir }),
      /--folder "errors": is reserved for the host/,
    );
    expect(existsSync(join(w.dir, "groups", "errors"))).toBe(false);
    const list = await runNgb(["groups", "list", "--json"], { cwd: w.dir });
    const groups = JSON.parse(list.stdout);
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({
      jid: "tg:-100",
      folder: "family",
      name: "Family",
      requiresTrigger: true,
    });
    expect((await runNgb(["groups", "remove", "tg:-100"], { cwd: w.dir })).code).toBe(0);
    expect(JSON.parse((await runNgb(["groups", "list", "--json"], { cwd: w.dir })).stdout)).toEqual([]);
  });

  test("serve: health, readiness, clean stop on SIGTERM, one instance per data dir", async () => {
    using w = tempWorkdir();
    const serve = await startServe({ cwd: w.dir });
    try {
      const health = await fetch(`${serve.url}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`${serve.url}/readyz`);
      // Liveness decides the status; the body lists what is degraded (checked in the background).
      expect(await ready.json()).toMatchObject({ ready: true, degraded: expect.any(Array) });
      expect(existsSync(join(w.dir, "store", "ngb.db"))).toBe(true);
      const second = await runNgb(["serve", "--port", "0"], { cwd: w.dir });
      expectOneLineError(second, /another ngb serve \(pid \d+\) is already using/);
    } finally {
      expect(await serve.stop("SIGTERM")).toBe(0);
    }
    expect(existsSync(join(w.dir, "data", "ngb.pid"))).toBe(false);
    expect(serve.logs()).toContain("shutting down");
  });

  test("serve refuses a corrupt database without touching it", async () => {
    using w = tempWorkdir();
    mkdirSync(join(w.dir, "store"));
    const junk = "not a database ".repeat(200);
    writeFileSync(join(w.dir, "store", "ngb.db"), junk);
    expectOneLineError(
      await runNgb(["serve", "--port", "0"], { cwd: w.dir }),
      /corrupt or not an ngb database/,
    );
    expect(readFileSync(join(w.dir, "store", "ngb.db"), "utf8")).toBe(junk);
  });
});

describe("ngb doctor", () => {
  test("reports each failure with a fix, exit 1; --json for scripts", async () => {
    using w = tempWorkdir();
    const env = isolatedEnv(w.dir, { NGB_CONTAINER_RUNTIME: "no-such-container-cli" });
    const r = await runNgb(["doctor"], { cwd: w.dir, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✓ dataDir: /);
    expect(r.stdout).toMatch(
      /✗ container engine: "no-such-container-cli" is not installed \(not on PATH\)\n\s+fix: install Docker/,
    );
    expect(r.stdout).toMatch(
      /✗ Anthropic credentials: .*\n\s+fix: run `ngb setup`, or set ANTHROPIC_API_KEY/,
    );
    // The key is verified with a real request (the fake Anthropic API knows one key).
    const good = "sk-ant-api03-doctor-good-key-0000000000";
    const fake = startFakeAnthropic({ acceptKeys: [good] });
    try {
      const json = await runNgb(["doctor", "--json"], {
        cwd: w.dir,
        env: { ...env, ANTHROPIC_API_KEY: good, NGB_ANTHROPIC_BASE_URL: fake.url },
      });
      const checks = JSON.parse(json.stdout) as { name: string; status: string }[];
      expect(checks.find((c) => c.name === "Anthropic credentials")?.status).toBe("ok");
      expect(checks.find((c) => c.name === "store")?.status).toBe("ok");
      expect(json.stdout).not.toContain(good);
      const bad = await runNgb(["doctor", "--json"], {
        cwd: w.dir,
        env: { ...env, ANTHROPIC_API_KEY: `${good}x`, NGB_ANTHROPIC_BASE_URL: fake.url },
      });
      const badChecks = JSON.parse(bad.stdout) as { name: string; status: string; detail: string }[];
      const cred = badChecks.find((c) => c.name === "Anthropic credentials");
      expect(cred).toMatchObject({ status: "fail", detail: expect.stringContaining("rejected") });
      expect(bad.stdout).not.toContain(good);
    } finally {
      await fake.stop();
    }
  });
});
