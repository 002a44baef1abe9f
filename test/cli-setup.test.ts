/**
 * `ngb setup --yes` and `ngb doctor` refusals that need no container engine: bad secrets are
 * refused by shape before any request, each refusal is one line naming the problem and the
 * fix, nothing is written; doctor validates what serve would refuse and repairs with --fix.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isolatedEnv, runNgb, startServe, tempWorkdir } from "./support/ngb.ts";

/** Counts every request; answers 401 like the real API does for a bad key. */
function countingApi() {
  let count = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      count++;
      return Response.json(
        { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } },
        { status: 401 },
      );
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, count: () => count, stop: () => server.stop(true) };
}

let api: ReturnType<typeof countingApi> | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

function expectOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe("ngb setup --yes refuses bad input before any request", () => {
  test.each([
    [
      "a key with a line break",
      "sk-ant-api03-abcdefghijklmnopqrstuvwxyz\n",
      /--api-key: the key contains whitespace .*: copy the whole key/,
    ],
    ["a key with a space", "sk-ant-api03-abcdefghij klmnopqrstuvwxyz", /contains whitespace/],
    [
      "a key of the wrong shape",
      "my-secret-key",
      /does not look like an Anthropic API key .*console\.anthropic\.com/,
    ],
    [
      "a subscription token given as a key",
      "sk-ant-oat01-abcdefghijklmnopqrstuvwxyz",
      /looks like a Claude subscription token.*--oauth-token/,
    ],
  ])("%s", async (_what, key, pattern) => {
    using w = tempWorkdir();
    api = countingApi();
    const started = performance.now();
    const r = await runNgb(["setup", "--yes", "--api-key", key, "--base-url", api.url], { cwd: w.dir });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, pattern);
    expect(r.stderr).not.toContain(key.trim());
    expect(api.count()).toBe(0);
    expect(readdirSync(w.dir)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  test("a channel token of the wrong shape, and half a Slack setup", async () => {
    using w = tempWorkdir();
    const key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123";
    const tg = await runNgb(["setup", "--yes", "--api-key", key, "--telegram", "nope"], { cwd: w.dir });
    expectOneLine(tg.stderr, /does not look like a Telegram bot token .*@BotFather/);
    const slack = await runNgb(["setup", "--yes", "--slack-bot-token", "xoxb-1-2"], { cwd: w.dir });
    expectOneLine(slack.stderr, /Slack needs both --slack-bot-token .* and --slack-app-token/);
    expect(readdirSync(w.dir)).toEqual([]);
  });

  test("no key at all, no terminal: names the flag", async () => {
    using w = tempWorkdir();
    // An engine that is not there fails first, with how to get one.
    const env = isolatedEnv(w.dir, { NGB_CONTAINER_RUNTIME: "no-such-engine" });
    const r = await runNgb(["setup", "--yes"], { cwd: w.dir, env });
    expectOneLine(r.stderr, /container engine: "no-such-engine" is not installed .*; fix: install/);
    expect(readdirSync(w.dir)).toEqual([]);
  });
});

describe("ngb doctor", () => {
  test("fails on a value serve refuses, the same way serve does", async () => {
    using w = tempWorkdir();
    writeFileSync(join(w.dir, "ngb.config.json"), JSON.stringify({ web: { host: "0.0.0.0" } }));
    const r = await runNgb(["doctor", "--json"], {
      cwd: w.dir,
      env: isolatedEnv(w.dir, { NGB_CONTAINER_RUNTIME: "no-such-engine" }),
    });
    const checks = JSON.parse(r.stdout) as { name: string; status: string; detail: string }[];
    expect(checks.find((c) => c.name === "web bind")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("refusing to listen on web.host 0.0.0.0"),
    });
    const serve = await runNgb(["serve", "--port", "0"], { cwd: w.dir });
    expect(serve.stderr).toContain("refusing to listen on web.host 0.0.0.0");
    writeFileSync(join(w.dir, "ngb.config.json"), JSON.stringify({ web: { port: "x" } }));
    const bad = await runNgb(["doctor", "--json"], { cwd: w.dir });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual([
      expect.objectContaining({
        name: "config",
        status: "fail",
        detail: expect.stringContaining("web.port"),
      }),
    ]);
  });

  test("--fix writes the default memory files and tightens .env", async () => {
    using w = tempWorkdir();
    writeFileSync(join(w.dir, ".env"), "ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnopqrstuvwxyz\n", {
      mode: 0o644,
    });
    const env = isolatedEnv(w.dir, {
      NGB_CONTAINER_RUNTIME: "no-such-engine",
      NGB_ANTHROPIC_BASE_URL: "http://127.0.0.1:1",
    });
    const before = await runNgb(["doctor"], { cwd: w.dir, env });
    expect(before.stdout).toMatch(/✗ \.env: .* others can read it/);
    expect(before.stdout).toContain("can be repaired here: ngb doctor --fix");
    const fixed = await runNgb(["doctor", "--fix", "--json"], { cwd: w.dir, env });
    const checks = JSON.parse(fixed.stdout) as { name: string; status: string; detail: string }[];
    expect(checks.find((c) => c.name === ".env")?.status).toBe("ok");
    expect(statSync(join(w.dir, ".env")).mode & 0o777).toBe(0o600);
    expect(existsSync(join(w.dir, "groups/global/CLAUDE.md"))).toBe(true);
    expect(existsSync(join(w.dir, "groups/main/CLAUDE.md"))).toBe(true);
  });
});

describe("ngb status and doctor against a running serve", () => {
  test("status prints readiness with fixes; doctor includes the serve's view; both fail clearly without one", async () => {
    using w = tempWorkdir();
    const env = isolatedEnv(w.dir, { NGB_CONTAINER_RUNTIME: "no-such-engine" });
    const down = await runNgb(["status"], { cwd: w.dir, env });
    expect(down.code).toBe(1);
    expectOneLine(down.stderr, /^error: no web token at .*: is `ngb serve` running/);
    const serve = await startServe({ cwd: w.dir, env, args: ["--log-format", "json"] });
    try {
      const url = serve.url;
      // Readiness is checked in the background right after start.
      let json: { readiness: { ok: boolean; degraded: string[] } | null } = { readiness: null };
      for (let i = 0; i < 50 && !json.readiness?.degraded.includes("engine"); i++) {
        json = JSON.parse((await runNgb(["status", "--json", "--url", url], { cwd: w.dir, env })).stdout);
        await Bun.sleep(100);
      }
      expect(json.readiness?.ok).toBe(false);
      expect(json.readiness?.degraded).toEqual(expect.arrayContaining(["credentials", "engine"]));
      const text = await runNgb(["status", "--url", url], { cwd: w.dir, env });
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/degraded: .*credentials/);
      expect(text.stdout).toMatch(/✗ engine: "no-such-engine" is not installed .*\n\s+fix: install/);
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { ready: boolean; degraded: string[] };
      expect(ready).toEqual({ ready: true, degraded: expect.arrayContaining(["credentials", "engine"]) });
      expect(serve.logs()).toContain("credentials: no API key or subscription token configured");
      const doctor = await runNgb(["doctor", "--url", url], { cwd: w.dir, env });
      expect(doctor.stdout).toMatch(/✓ ngb serve: running at http/);
      expect(doctor.stdout).toMatch(/✗ serve: engine: "no-such-engine" is not installed/);
    } finally {
      await serve.stop();
    }
  }, 30_000);
});
