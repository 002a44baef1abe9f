/**
 * The web token: the one secret guarding the dashboard and the REST API. Taken from config
 * (`web.token` / `NGB_WEB_TOKEN`), else read from `<dataDir>/web-token`, else generated once and
 * stored there with mode 0600. Also the start-up check that refuses to expose the server on a
 * non-loopback address without an explicitly configured token.
 */
import { randomToken } from "../util/crypto.ts";
import { chmodSync, closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Logger } from "../log/index.ts";
import { UserError } from "../util/errors.ts";
import { ensurePrivateDir } from "../util/private-fs.ts";

export interface WebTokenConfig {
  dataDir: string;
  web: { host: string; port: number; token?: string | undefined };
}

export interface WebToken {
  token: string;
  /** Where the token lives on disk; null when it came from config. */
  file: string | null;
  /** True when this call created a new token. */
  generated: boolean;
}

/** Minimum length for a token, configured or read from the file. */
export const MIN_TOKEN_LENGTH = 16;

export function tokenFile(dataDir: string): string {
  return resolve(join(dataDir, "web-token"));
}

export function ensureWebToken(config: WebTokenConfig, log?: Logger): WebToken {
  const configured = config.web.token?.trim();
  if (configured) {
    if (configured.length < MIN_TOKEN_LENGTH)
      throw new UserError(
        `web.token is too short (${configured.length} characters); use at least ${MIN_TOKEN_LENGTH}, e.g. \`openssl rand -hex 32\``,
      );
    return { token: configured, file: null, generated: false };
  }
  const file = tokenFile(config.dataDir);
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) {
      // Tighten a token file someone made readable by others, rather than refuse to start.
      chmodSync(file, 0o600);
      log?.withTag("web").warn("web token file was readable by others; permissions set to 0600", { file });
    }
    const token = readFileSync(file, "utf8").trim();
    if (token.length >= MIN_TOKEN_LENGTH) return { token, file, generated: false };
    log?.withTag("web").warn("web token file is empty or too short; generating a new token", { file });
  }
  ensurePrivateDir(config.dataDir);
  const token = randomToken(32);
  // Create with 0600 from the first byte (no window where the file is world-readable).
  const fd = openSync(file, "w", 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600);
  return { token, file, generated: true };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]", "ip6-localhost"]);

export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return LOOPBACK.has(h) || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Refuse to listen on a non-loopback address unless a token was configured explicitly: a token
 * generated into a file nobody has read would otherwise expose a server "secured" by chance.
 */
export function assertSafeBind(config: WebTokenConfig): void {
  if (isLoopbackHost(config.web.host)) return;
  if (config.web.token?.trim()) return;
  throw new UserError(
    `refusing to listen on web.host ${config.web.host} (not loopback) without an explicit token; ` +
      "set NGB_WEB_TOKEN (or web.token in the config file) to a long random secret, or use web.host 127.0.0.1",
  );
}

/**
 * The line `serve` prints so a person can open the dashboard. The token itself appears (as a
 * one-click `?token=` link) only when it was just generated and stderr is a terminal: under
 * systemd stderr lands in the journal, which is readable by more people than the 0600 file.
 */
export function dashboardHint(url: string, t: WebToken, showToken = process.stderr.isTTY === true): string {
  const base = url.replace("://0.0.0.0", "://127.0.0.1").replace("://[::]", "://[::1]");
  if (t.file && t.generated && showToken)
    return `dashboard: ${base}/?token=${encodeURIComponent(t.token)}  (token saved in ${t.file})`;
  if (t.file) return `dashboard: ${base}/ — log in with the token in ${t.file}`;
  return `dashboard: ${base}/ — log in with the configured web.token (NGB_WEB_TOKEN)`;
}
