import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConsola } from "consola/core";
import { allowInsecureConfigEnv } from "./env.ts";
import { ConfigError } from "./errors.ts";
import { loadConfig } from "./load.ts";
import { redact, redactUrlCredentials } from "./redact.ts";
import { assertTrustedConfigFiles } from "./trust.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-trust-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("config files others can write", () => {
  test("are refused with the file, the mode and the fix", () => {
    const file = join(dir, "ngb.config.json");
    writeFileSync(file, "{}");
    chmodSync(file, 0o666);
    const env = join(dir, ".env");
    writeFileSync(env, "A=1\n");
    chmodSync(env, 0o600);
    const loaded = loadConfig({ cwd: dir, env: {} });
    expect(loaded.file).toBe(file);
    expect(loaded.envFile).toBe(env);
    let err: unknown;
    try {
      assertTrustedConfigFiles([loaded.file, loaded.envFile], { allowInsecure: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(`${file} is writable by group and others (mode 0666)`);
    expect(msg).toContain(`chmod 600 ${file}`);
    expect(msg).toContain("--allow-insecure-config");
    expect(msg.split("\n")).toHaveLength(1);
    chmodSync(file, 0o644);
    chmodSync(env, 0o620);
    expect(() => assertTrustedConfigFiles([file, env], { allowInsecure: false })).toThrow(
      `${env} is writable by group (mode 0620)`,
    );
  });

  test("--allow-insecure-config turns the refusal into a loud warning", () => {
    const file = join(dir, "ngb.config.json");
    writeFileSync(file, "{}");
    chmodSync(file, 0o646);
    const lines: string[] = [];
    const log = createConsola({ reporters: [{ log: (o) => lines.push(`${o.type} ${o.args.join(" ")}`) }] });
    assertTrustedConfigFiles([file, undefined], { allowInsecure: true, log });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith("warn INSECURE CONFIG");
    expect(lines[0]).toContain("mode 0646");
  });

  test("the override comes from the process environment only", () => {
    expect(allowInsecureConfigEnv({ NGB_ALLOW_INSECURE_CONFIG: "1" })).toBe(true);
    expect(allowInsecureConfigEnv({ NGB_ALLOW_INSECURE_CONFIG: "no" })).toBe(false);
    expect(allowInsecureConfigEnv({})).toBe(false);
  });
});

describe("redaction of URL credentials", () => {
  test("user:pass@ inside any URL is hidden, the rest kept", () => {
    expect(redactUrlCredentials("https://bob:s3cret@proxy.example:8080/v1")).toBe(
      "https://********@proxy.example:8080/v1",
    );
    expect(redactUrlCredentials("see http://token@host/x and ftp://a:b@c")).toBe(
      "see http://********@host/x and ftp://********@c",
    );
    expect(redactUrlCredentials("https://a.example/?q=x@y")).toBe("https://a.example/?q=x@y");
    const shown = redact({
      anthropic: { baseUrl: "https://u:p@gw.example", apiKey: "sk-1" },
      channels: { discord: { gatewayUrl: "wss://u:p@gw" } },
      plugins: { enabled: ["https://x:y@z"] },
    });
    expect(JSON.stringify(shown)).not.toMatch(/u:p|x:y|sk-1/);
    expect(shown.anthropic.baseUrl).toBe("https://********@gw.example");
  });
});
