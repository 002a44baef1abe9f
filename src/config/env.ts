/**
 * The only module that reads environment variables. Every config leaf has a derived `NGB_…`
 * name (camelCase → SNAKE_CASE, dots → `_`), e.g. `web.port` → `NGB_WEB_PORT`,
 * `channels.telegram.botToken` → `NGB_CHANNELS_TELEGRAM_BOT_TOKEN`. A few well-known names
 * (`ANTHROPIC_API_KEY`…) are accepted as aliases.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CHANNEL_DEFINITIONS } from "../channels/index.ts";
import { ConfigError } from "./errors.ts";

export type Env = Record<string, string | undefined>;

/** Aliases accepted besides the derived `NGB_` names (lower precedence than the NGB_ name). */
export const ENV_ALIASES: Record<string, string> = {
  ANTHROPIC_API_KEY: "anthropic.apiKey",
  ANTHROPIC_AUTH_TOKEN: "anthropic.authToken",
  CLAUDE_CODE_OAUTH_TOKEN: "anthropic.authToken",
  // Each channel definition names its own (NGB_TELEGRAM_BOT_TOKEN…).
  ...Object.fromEntries(
    CHANNEL_DEFINITIONS.flatMap((d) =>
      Object.entries(d.envAliases ?? {}).map(([name, key]) => [name, `channels.${d.name}.${key}`]),
    ),
  ),
};

export function envNameFor(path: string): string {
  return `NGB_${path
    .split(".")
    .map((s) => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase())
    .join("_")}`;
}

/** The process environment (read here and nowhere else). */
export function processEnv(): Env {
  return process.env;
}

/** Parse a `.env` file: KEY=VALUE lines, `#` comments, optional quotes, `export ` prefix. */
export function parseDotenv(text: string, file: string): Env {
  const out: Env = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError(`${file}:${i + 1}: expected KEY=VALUE, got "${line.slice(0, 40)}"`);
    let value = m[2]!;
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\n/g, "\n");
    } else {
      value = value.replace(/\s+#.*$/, "");
    }
    out[m[1]!] = value;
  }
  return out;
}

export function readDotenv(dir: string): Env {
  const file = join(dir, ".env");
  if (!existsSync(file)) return {};
  return parseDotenv(readFileSync(file, "utf8"), file);
}

/** Where the XDG config home is (for the config file and the mount allowlist). */
export function configHome(env: Env = processEnv()): string {
  return env.XDG_CONFIG_HOME || join(env.HOME || "/root", ".config");
}

/** Variables passed through to child processes the host spawns (docker CLI). */
export function childEnv(): Env {
  return { ...process.env };
}
