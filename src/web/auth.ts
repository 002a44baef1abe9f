/**
 * Authentication for everything but health and the login page: a bearer token for scripts
 * (`Authorization: Bearer <token>`), or a server-side session for the dashboard (a random id in
 * an HttpOnly, SameSite=Strict, host-only cookie; see sessions.ts). The token is checked first
 * and in constant time, so a valid token always gets in; wrong ones are throttled per address
 * (login-limit.ts). A request authenticated by the cookie must also come from our own origin
 * when it changes state or opens a WebSocket (origin.ts): SameSite does not separate two ports
 * of one host. The token is never logged or echoed.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Logger } from "../log/index.ts";
import { safeEqual } from "../util/crypto.ts";
import { createLoginLimit, type LoginLimit } from "./login-limit.ts";
import { originRefusal } from "./origin.ts";
import { createSessionStore, type SessionStore } from "./sessions.ts";

/** Cookie name over plain http (a `__Host-` cookie requires Secure). */
export const SESSION_COOKIE = "ngb_session";
/** Cookie name over https: the prefix makes browsers refuse a Domain attribute or another Path. */
export const SECURE_SESSION_COOKIE = "__Host-ngb_session";

export interface AuthOptions {
  token: string;
  log?: Logger;
  /** Failures from one address allowed within `windowMs` before it gets 429. */
  maxFailures?: number;
  windowMs?: number;
  /** Session lifetimes (see sessions.ts for the defaults). */
  sessionIdleMs?: number;
  sessionMaxAgeMs?: number;
  now?: () => number;
  /** Paths served without a token (exact match). */
  publicPaths?: string[];
}

export interface Auth {
  /** Hono middleware enforcing the token on every non-public path. */
  middleware: MiddlewareHandler;
  /** Constant-time check of a presented token. */
  check(presented: string | undefined | null): boolean;
  limit: LoginLimit;
  sessions: SessionStore;
  /** Start a session and set its cookie. */
  login(c: Context): void;
  /** End the request's session (if any) and clear the cookie. */
  logout(c: Context): void;
  /** Count a wrong token from `ip` (logged once when the address becomes throttled); seconds to wait or null. */
  fail(ip: string): number | null;
  /** A 429 answer for an address that failed too often. */
  tooMany(c: Context, waitSec: number): Response;
}

const DEFAULT_PUBLIC = ["/healthz", "/readyz", "/login", "/logout", "/favicon.ico"];

export { safeEqual };

/** The client address: the socket's peer when served by Bun, else a fixed key (in-process tests). */
export function clientIp(c: Context): string {
  const server = c.env as { requestIP?: (r: Request) => { address: string } | null } | undefined;
  try {
    const info = server?.requestIP?.(c.req.raw);
    if (info?.address) return info.address;
  } catch {
    // not served by Bun (app.request in tests)
  }
  return "local";
}

function isHttps(c: Context): boolean {
  if (new URL(c.req.url).protocol === "https:") return true;
  // Behind a TLS-terminating proxy. A forged header only changes this client's own cookie flags.
  return (c.req.header("x-forwarded-proto") ?? "").split(",")[0]?.trim().toLowerCase() === "https";
}

function wantsHtml(c: Context): boolean {
  if (c.req.method !== "GET") return false;
  const p = c.req.path;
  if (p.startsWith("/api/") || p === "/metrics") return false;
  return (c.req.header("accept") ?? "").includes("text/html");
}

export function createAuth(opts: AuthOptions): Auth {
  const publicPaths = new Set(opts.publicPaths ?? DEFAULT_PUBLIC);
  const limit = createLoginLimit({ maxFailures: opts.maxFailures, windowMs: opts.windowMs, now: opts.now });
  const sessions = createSessionStore({
    idleMs: opts.sessionIdleMs,
    maxAgeMs: opts.sessionMaxAgeMs,
    now: opts.now,
  });
  const log = opts.log?.withTag("web");

  const check = (presented: string | undefined | null) =>
    typeof presented === "string" && presented.length > 0 && safeEqual(presented, opts.token);

  const sessionCookie = (c: Context) => getCookie(c, SECURE_SESSION_COOKIE) ?? getCookie(c, SESSION_COOKIE);

  function clearCookies(c: Context) {
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    if (isHttps(c)) deleteCookie(c, SECURE_SESSION_COOKIE, { path: "/", secure: true });
  }

  function login(c: Context) {
    const id = sessions.create();
    const secure = isHttps(c);
    // Host-only (no Domain), Path=/, HttpOnly, SameSite=Strict; Secure and the __Host- prefix on https.
    setCookie(c, secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: "Strict",
      secure,
      path: "/",
      maxAge: sessions.maxAgeSec,
    });
  }

  function logout(c: Context) {
    const id = sessionCookie(c);
    if (id) sessions.revoke(id);
    clearCookies(c);
  }

  const tooMany = (c: Context, wait: number) => {
    c.header("Retry-After", String(wait));
    return c.json({ error: "rate_limited", message: `too many failed attempts; retry in ${wait} s` }, 429);
  };

  const fail = (ip: string) => {
    const before = limit.blocked(ip);
    const wait = limit.fail(ip);
    if (wait !== null && before === null)
      log?.warn("too many failed logins; address throttled", { ip, retryAfterSec: wait });
    return wait;
  };

  const refuseToken = (c: Context, ip: string) => {
    const wait = fail(ip);
    if (wait !== null) return tooMany(c, wait);
    c.header("WWW-Authenticate", 'Bearer realm="ngb"');
    return c.json({ error: "unauthorized", message: "invalid token" }, 401);
  };

  const middleware: MiddlewareHandler = async (c, next) => {
    if (publicPaths.has(c.req.path)) return next();
    const ip = clientIp(c);
    const header = c.req.header("authorization");

    // Scripts: the bearer token alone. No cookie involved, so no Origin rule.
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (m && check(m[1])) {
        limit.reset(ip);
        return next();
      }
      return refuseToken(c, ip);
    }

    // `?token=` on a page load: log in, then drop the token from the address bar.
    const queryToken =
      c.req.method === "GET" && !c.req.path.startsWith("/api/") ? c.req.query("token") : undefined;
    if (queryToken !== undefined) {
      if (!check(queryToken)) return refuseToken(c, ip);
      limit.reset(ip);
      login(c);
      const url = new URL(c.req.url);
      url.searchParams.delete("token");
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }

    const id = sessionCookie(c);
    if (id !== undefined) {
      if (sessions.touch(id)) {
        const refusal = originRefusal(c.req.raw);
        if (refusal) {
          log?.warn("cookie request refused", { method: c.req.method, path: c.req.path, reason: refusal });
          return c.json({ error: "forbidden", message: `cross-origin request refused: ${refusal}` }, 403);
        }
        return next();
      }
      // An expired or revoked session is not a guess at the token: no throttling, just log in again.
      clearCookies(c);
    }

    if (wantsHtml(c)) return c.redirect("/login", 303);
    c.header("WWW-Authenticate", 'Bearer realm="ngb"');
    return c.json(
      {
        error: "unauthorized",
        message:
          id !== undefined
            ? "session expired or logged out: log in again"
            : "missing token: send Authorization: Bearer <token> (see web.token / <dataDir>/web-token)",
      },
      401,
    );
  };

  return { middleware, check, limit, sessions, login, logout, fail, tooMany };
}
