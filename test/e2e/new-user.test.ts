/**
 * A new user's first run, scripted: an empty directory holding only the compiled `ngb`, the
 * container engine and the fake Anthropic API. `ngb setup --yes …` verifies the key, saves it
 * (0600) and prints the first reply; then `ngb serve` + `ngb chat "hello"` get a reply. With no
 * key and with a rejected key, `ngb chat` fails within 10 s with the one clear sentence.
 * The agent image is `NGB_E2E_IMAGE` (default ngb-agent:latest; never rebuilt here).
 * `NGB_E2E_IMAGE_BUILD=1` also builds the image from the copied binary alone (≈1 min).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { NO_CREDENTIALS_SENTENCE } from "../../src/proxy/index.ts";
import { type FakeAnthropic, startFakeAnthropic } from "../fakes/anthropic.ts";
import { agentImageAvailable, engineAvailable } from "../support/engine.ts";
import { ROOT } from "../support/ngb.ts";

const IMAGE = process.env.NGB_E2E_IMAGE ?? "ngb-agent:latest";
const BINARY = resolve(ROOT, process.env.NGB_BIN ?? "dist/ngb");
const HAVE_BINARY = existsSync(BINARY);
if (!HAVE_BINARY) process.stderr.write(`[skip] new-user e2e: no compiled ngb at ${BINARY} (bun run build)\n`);
const READY = HAVE_BINARY && (await agentImageAvailable(IMAGE));
const GOOD = "sk-ant-api03-new-user-good-key-000000000000";
const BAD = "sk-ant-api03-new-user-revoked-key-11111111111";

let fake: FakeAnthropic;
const dirs: string[] = [];
const procs: Bun.Subprocess[] = [];

/** An empty directory with nothing but a copy of the binary. */
function emptyDirWithBinary(): string {
  const dir = mkdtempSync(join(tmpdir(), "ngb-new-user-"));
  dirs.push(dir);
  copyFileSync(BINARY, join(dir, "ngb"));
  return dir;
}

/** No bun, no checkout on PATH: only the system tools (the docker CLI among them). */
function env(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, ".xdg"),
    NGB_LOG_LEVEL: "info",
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    ...extra,
  };
}

async function ngb(dir: string, args: string[], extra: Record<string, string> = {}, timeoutMs = 120_000) {
  const started = performance.now();
  const proc = Bun.spawn([join(dir, "ngb"), ...args], {
    cwd: dir,
    env: env(dir, extra),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr, ms: performance.now() - started };
}

/** `ngb serve --port 0` from the copied binary; resolves with its URL. */
async function serve(
  dir: string,
  extra: Record<string, string> = {},
): Promise<{ url: string; log: () => string }> {
  const proc = Bun.spawn([join(dir, "ngb"), "serve", "--port", "0"], {
    cwd: dir,
    env: env(dir, extra),
    stdout: "ignore",
    stderr: "pipe",
    stdin: "ignore",
  });
  procs.push(proc);
  let log = "";
  const decoder = new TextDecoder();
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not start:\n${log}`)), 20_000);
    void (async () => {
      const reader = proc.stderr.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        log += decoder.decode(r.value, { stream: true });
        const m = /listening on (http:\/\/\S+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      }
      fail(new Error(`serve exited:\n${log}`));
    })();
  });
  return { url, log: () => log };
}

beforeAll(() => {
  fake = startFakeAnthropic({
    acceptKeys: [GOOD],
    script: () => ({ text: "Hello, I am your new assistant." }),
  });
});
afterAll(async () => {
  for (const p of procs) {
    p.kill("SIGTERM");
    await p.exited;
  }
  await fake?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!READY)("a new user's first run with only the compiled binary", () => {
  test("ngb setup --yes, then ngb chat gets a reply", async () => {
    const dir = emptyDirWithBinary();
    const setup = await ngb(dir, [
      "setup",
      "--yes",
      "--api-key",
      GOOD,
      "--base-url",
      fake.url,
      "--image",
      IMAGE,
      "--build",
      "never",
      "--message",
      "hello from setup",
    ]);
    if (setup.code !== 0) process.stderr.write(setup.stderr);
    expect(setup.code).toBe(0);
    expect(setup.stdout).toContain("Hello, I am your new assistant.");
    expect(setup.stderr).toContain("API key accepted");
    expect(setup.stdout + setup.stderr).not.toContain(GOOD);
    expect(statSync(join(dir, ".env")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, ".env"), "utf8")).toContain(`ANTHROPIC_API_KEY=${GOOD}`);
    // The default memory files came out of the binary.
    expect(readFileSync(join(dir, "groups/global/CLAUDE.md"), "utf8")).toContain("Shared memory");

    const s = await serve(dir);
    const chat = await ngb(dir, ["chat", "hello", "--url", s.url], {}, 60_000);
    expect(chat.stderr).toBe("");
    expect(chat.stdout).toBe("Hello, I am your new assistant.\n");
    expect(chat.code).toBe(0);
  }, 180_000);

  test("no key: ngb chat fails within 10 s with the sentence", async () => {
    const dir = emptyDirWithBinary();
    writeFileSync(
      join(dir, "ngb.config.json"),
      JSON.stringify({ anthropic: { baseUrl: fake.url }, container: { image: IMAGE } }),
    );
    const s = await serve(dir);
    const chat = await ngb(dir, ["chat", "hello", "--url", s.url], {}, 30_000);
    expect(chat.code).toBe(1);
    expect(chat.stderr.trim()).toBe(`error: ${NO_CREDENTIALS_SENTENCE}`);
    expect(chat.ms).toBeLessThan(10_000);
    expect(s.log()).toContain("credentials: no API key or subscription token configured");
  }, 60_000);

  test("rejected key: setup refuses it and saves nothing; a serve using it fails within 10 s", async () => {
    const dir = emptyDirWithBinary();
    const setup = await ngb(dir, [
      "setup",
      "--yes",
      "--api-key",
      BAD,
      "--base-url",
      fake.url,
      "--image",
      IMAGE,
      "--build",
      "never",
    ]);
    expect(setup.code).toBe(1);
    expect(setup.stderr.trim().split("\n").at(-1)).toMatch(
      /^error: Anthropic credentials: API key rejected by 127\.0\.0\.1:\d+ \(401 authentication_error: invalid x-api-key\); fix: create a new key/,
    );
    expect(setup.ms).toBeLessThan(10_000);
    expect(existsSync(join(dir, ".env"))).toBe(false);
    expect(existsSync(join(dir, "ngb.config.json"))).toBe(false);

    writeFileSync(
      join(dir, "ngb.config.json"),
      JSON.stringify({ anthropic: { baseUrl: fake.url }, container: { image: IMAGE } }),
    );
    writeFileSync(join(dir, ".env"), `ANTHROPIC_API_KEY=${BAD}\n`, { mode: 0o600 });
    const s = await serve(dir);
    const chat = await ngb(dir, ["chat", "hello", "--url", s.url], {}, 30_000);
    expect(chat.code).toBe(1);
    expect(chat.stderr).toMatch(
      /^error: The Anthropic API key was rejected \(401 authentication_error: invalid x-api-key\): .*restart ngb serve\.\n$/,
    );
    expect(chat.stderr).not.toContain(BAD);
    expect(chat.ms).toBeLessThan(10_000);
  }, 60_000);
});

describe.skipIf(!HAVE_BINARY || process.env.NGB_E2E_IMAGE_BUILD !== "1")(
  "the binary builds its own agent image",
  () => {
    test("from an empty directory, under a test tag", async () => {
      if (!(await engineAvailable())) return;
      const dir = emptyDirWithBinary();
      const tag = `ngb-agent:e2e-${process.pid}`;
      try {
        const r = await ngb(dir, ["image", "build", "--offline", "--image", tag, "--json"], {}, 600_000);
        if (r.code !== 0) process.stderr.write(r.stderr);
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({ image: tag });
        expect(existsSync(join(dir, "data/agent-context/Dockerfile"))).toBe(true);
        const status = await ngb(dir, ["image", "status", "--image", tag, "--json"]);
        expect(JSON.parse(status.stdout)).toMatchObject({ exists: true, upToDate: true });
      } finally {
        Bun.spawnSync(["docker", "image", "rm", "-f", tag], { env: process.env });
      }
    }, 620_000);
  },
);
