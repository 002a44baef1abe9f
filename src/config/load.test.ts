import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, defaultTrigger, envNameFor, loadConfig, redact } from "./index.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "ngb-config-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("loadConfig", () => {
  test("defaults need no file and no environment", () => {
    const cwd = tempDir();
    const { config, file } = loadConfig({ cwd, env: {}, noDotenv: true });
    expect(file).toBeUndefined();
    expect(config.assistantName).toBe("Andy");
    expect(config.web.host).toBe("127.0.0.1");
    expect(config.web.port).toBe(3000);
    expect(config.dataDir).toBe(join(cwd, "data"));
    expect(config.channels.telegram.enabled).toBe(false);
    expect(config.channels.telegram.apiBaseUrl).toBe("https://api.telegram.org");
    expect(config.container.runtime).toBe("docker");
  });

  test("precedence: defaults < file < .env < environment < flags", () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, "ngb.config.json"),
      JSON.stringify({
        assistantName: "FromFile",
        web: { port: 1111 },
        log: { level: "warn" },
        dataDir: "d1",
      }),
    );
    writeFileSync(
      join(cwd, ".env"),
      "NGB_WEB_PORT=2222\nNGB_LOG_LEVEL=debug\n# comment\nexport NGB_DATA_DIR='d2'\n",
    );
    const { config, sources } = loadConfig({
      cwd,
      env: { NGB_LOG_LEVEL: "error", NGB_DATA_DIR: "d3" },
      flags: { "data.unused": undefined, dataDir: "d4" },
    });
    expect(config.assistantName).toBe("FromFile");
    expect(config.web.port).toBe(2222);
    expect(config.log.level).toBe("error");
    expect(config.dataDir).toBe(join(cwd, "d4"));
    expect(sources["web.port"]).toContain(".env");
    expect(sources.dataDir).toBe("flag");
  });

  test("XDG config file is used when there is no local one", () => {
    const cwd = tempDir();
    const xdg = tempDir();
    mkdirSync(join(xdg, "ngb"));
    writeFileSync(join(xdg, "ngb", "config.json"), JSON.stringify({ assistantName: "Xdg" }));
    const { config, file } = loadConfig({ cwd, env: { XDG_CONFIG_HOME: xdg }, noDotenv: true });
    expect(config.assistantName).toBe("Xdg");
    expect(file).toBe(join(xdg, "ngb", "config.json"));
  });

  test("env names are derived from the path", () => {
    expect(envNameFor("web.port")).toBe("NGB_WEB_PORT");
    expect(envNameFor("channels.telegram.botToken")).toBe("NGB_CHANNELS_TELEGRAM_BOT_TOKEN");
    const { config } = loadConfig({
      cwd: tempDir(),
      env: { NGB_CHANNELS_TELEGRAM_ENABLED: "yes", ANTHROPIC_API_KEY: "sk-1", NGB_PLUGINS_ENABLED: "a, b" },
      noDotenv: true,
    });
    expect(config.channels.telegram.enabled).toBe(true);
    expect(config.anthropic.apiKey).toBe("sk-1");
    expect(config.plugins.enabled).toEqual(["a", "b"]);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    [
      "non-numeric port",
      { NGB_WEB_PORT: "abc" },
      /web\.port: expected a number, got "abc" \(from NGB_WEB_PORT/,
    ],
    ["port out of range", { NGB_WEB_PORT: "70000" }, /web\.port: .*70000/],
    ["bad boolean", { NGB_WEB_ENABLED: "maybe" }, /web\.enabled: expected true or false/],
    ["bad enum", { NGB_LOG_LEVEL: "loud" }, /log\.level: .*"loud"/],
    [
      "bad url",
      { NGB_CHANNELS_TELEGRAM_API_BASE_URL: "not a url" },
      /channels\.telegram\.apiBaseUrl: must be a URL/,
    ],
    ["bad regex", { NGB_TRIGGER_PATTERN: "([" }, /triggerPattern: unterminated character class/],
    [
      "catastrophic regex",
      { NGB_TRIGGER_PATTERN: "^(a+)+$" },
      /triggerPattern: a repetition inside a repetition/,
    ],
    ["host network", { NGB_CONTAINER_NETWORK: "host" }, /container\.network: "host" .*allowHostNetwork/],
    ["container network", { NGB_CONTAINER_NETWORK: "container:abc" }, /container\.network: .*namespace/],
    ["bad time zone", { NGB_TIMEZONE: "Mars/Base" }, /timezone: unknown time zone "Mars\/Base"/],
  ];
  for (const [name, env, message] of bad) {
    test(`bad value: ${name}`, () => {
      expect(() => loadConfig({ cwd: tempDir(), env, noDotenv: true })).toThrow(message);
    });
  }

  test("container.allowHostNetwork lets network be host", () => {
    const env = { NGB_CONTAINER_NETWORK: "host", NGB_CONTAINER_ALLOW_HOST_NETWORK: "true" };
    expect(loadConfig({ cwd: tempDir(), env, noDotenv: true }).config.container.network).toBe("host");
  });

  test("bad config files get one clear line", () => {
    const cwd = tempDir();
    const file = join(cwd, "ngb.config.json");
    writeFileSync(file, "{ nope");
    expect(() => loadConfig({ cwd, env: {}, noDotenv: true })).toThrow(/invalid JSON/);
    writeFileSync(file, "[1]");
    expect(() => loadConfig({ cwd, env: {}, noDotenv: true })).toThrow(/expected a JSON object/);
    writeFileSync(file, JSON.stringify({ web: { port: "80" } }));
    expect(() => loadConfig({ cwd, env: {}, noDotenv: true })).toThrow(/web\.port: .*"80"/);
    writeFileSync(file, JSON.stringify({ webb: {} }));
    expect(() => loadConfig({ cwd, env: {}, noDotenv: true })).toThrow(/webb: unknown key/);
    expect(() => loadConfig({ cwd, env: {}, configFile: "missing.json", noDotenv: true })).toThrow(
      ConfigError,
    );
  });

  test("secret values are never echoed in errors", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "ngb.config.json"), JSON.stringify({ web: { token: 12345 } }));
    let message = "";
    try {
      loadConfig({ cwd, env: {}, noDotenv: true });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("web.token");
    expect(message).not.toContain("12345");
  });

  test("redact hides set secrets only", () => {
    const { config } = loadConfig({
      cwd: tempDir(),
      env: { ANTHROPIC_API_KEY: "sk-secret" },
      noDotenv: true,
    });
    const shown = redact(config);
    expect(shown.anthropic.apiKey).toBe("********");
    expect(shown.web.token).toBeUndefined();
    expect(JSON.stringify(shown)).not.toContain("sk-secret");
  });

  test("default trigger matches @Name at the start, case-insensitively", () => {
    const { config } = loadConfig({ cwd: tempDir(), env: { NGB_ASSISTANT_NAME: "Andy" }, noDotenv: true });
    const re = defaultTrigger(config);
    expect(re.test("@andy hello")).toBe(true);
    expect(re.test("@Andy, hi")).toBe(true);
    expect(re.test("hello @Andy")).toBe(false);
    expect(re.test("@Andyx")).toBe(false);
  });
});
