/**
 * Authentication for everything but health and the login page: a bearer token for scripts
 * (`Authorization: Bearer <token>`), or an HttpOnly SameSite=Strict session cookie set by the
 * login form for the dashboard. Comparisons are constant-time; repeated failures from one client
 * address are rate-limited (429 + Retry-After). The token is never logged or echoed.
 */
import { hmacSha256, safeEqual } from "../util/crypto.ts";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Logger } from "../log/index.ts";

export const SESSION_COOKIE = "ngb_session";

export interface AuthOptions {
  token: string;
  log?: Logger;
  /** Failures from one address allowed within `windowMs` before it gets 429. */
  maxFailures?: number;
  windowMs?: number;
  now?: () => number;
  /** Paths served without a token (exact match). */
  publicPaths?: string[];
}

export interface Auth {
  /** Hono middleware enforcing the token on every non-public path. */
  middleware: MiddlewareHandler;
  /** Constant-time check of a presented token. */
  check(presented: string | undefined | null): boolean;
  /** The cookie value that proves a login (derived from the token; not the token itself). */
  sessionValue: string;
  /** Record a failed attempt; returns seconds to wait when the address is now blocked. */
  fail(ip: string): number | null;
  /** Seconds the address must still wait, or null when it may try. */
  blocked(ip: string): number | null;
  setSession(c: Context): void;
  clearSession(c: Context): void;
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

function sameOrigin(origin: string, url: string): boolean {
  try {
    return new URL(origin).host === new URL(url).host;
  } catch {
    return false;
  }
}

function wantsHtml(c: Context): boolean {
  if (c.req.method !== "GET") return false;
  const p = c.req.path;
  if (p.startsWith("/api/") || p === "/metrics") return false;
  return (c.req.header("accept") ?? "").includes("text/html");
}

export function createAuth(opts: AuthOptions): Auth {
  const maxFailures = opts.maxFailures ?? 10;
  const windowMs = opts.windowMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  const publicPaths = new Set(opts.publicPaths ?? DEFAULT_PUBLIC);
  const sessionValue = hmacSha256(opts.token, "ngb-dashboard-session-v1").toString("base64url");
  const failures = new Map<string, { count: number; since: number }>();
  const log = opts.log?.withTag("web");

  const check = (presented: string | undefined | null) =>
    typeof presented === "string" && presented.length > 0 && safeEqual(presented, opts.token);

  function prune(t: number) {
    if (failures.size < 1000) return;
    for (const [ip, f] of failures) if (t - f.since >= windowMs) failures.delete(ip);
    // Many addresses failing at once: forget the oldest rather than grow without bound.
    for (const ip of failures.keys()) {
      if (failures.size < 10_000) break;
      failures.delete(ip);
    }
  }

  function blocked(ip: string): number | null {
    const f = failures.get(ip);
    if (!f) return null;
    const t = now();
    if (t - f.since >= windowMs) {
      failures.delete(ip);
      return null;
    }
    if (f.count < maxFailures) return null;
    return Math.max(1, Math.ceil((f.since + windowMs - t) / 1000));
  }

  function fail(ip: string): number | null {
    const t = now();
    prune(t);
    const f = failures.get(ip);
    if (!f || t - f.since >= windowMs) failures.set(ip, { count: 1, since: t });
    else f.count++;
    const wait = blocked(ip);
    if (wait !== null && failures.get(ip)?.count === maxFailures)
      log?.warn("too many failed logins; address blocked", { ip, retryAfterSec: wait });
    return wait;
  }

  function setSession(c: Context) {
    setCookie(c, SESSION_COOKIE, sessionValue, {
      httpOnly: true,
      sameSite: "Strict",
      secure: new URL(c.req.url).protocol === "https:",
      path: "/",
      maxAge: 30 * 24 * 3600,
    });
  }

  function clearSession(c: Context) {
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
  }

  const tooMany = (c: Context, wait: number) => {
    c.header("Retry-After", String(wait));
    return c.json({ error: "rate_limited", message: `too many failed attempts; retry in ${wait} s` }, 429);
  };

  const middleware: MiddlewareHandler = async (c, next) => {
    if (publicPaths.has(c.req.path)) return next();
    const ip = clientIp(c);
    const header = c.req.header("authorization");
    const cookie = getCookie(c, SESSION_COOKIE);
    // `?token=` on a page load: log in, then drop the token from the address bar.
    const queryToken =
      c.req.method === "GET" && !c.req.path.startsWith("/api/") ? c.req.query("token") : undefined;
    const presented = header !== undefined || cookie !== undefined || queryToken !== undefined;

    const wait = blocked(ip);
    if (wait !== null) return tooMany(c, wait);

    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (m && check(m[1])) return next();
    } else if (queryToken !== undefined) {
      if (check(queryToken)) {
        setSession(c);
        const url = new URL(c.req.url);
        url.searchParams.delete("token");
        return c.redirect(`${url.pathname}${url.search}`, 303);
      }
    } else if (cookie !== undefined && safeEqual(cookie, sessionValue)) {
      // A cookie-authenticated write must come from our own pages (belt and braces over SameSite).
      if (c.req.method !== "GET" && c.req.method !== "HEAD") {
        const origin = c.req.header("origin");
        if (origin && !sameOrigin(origin, c.req.url))
          return c.json({ error: "forbidden", message: "cross-origin request refused" }, 403);
      }
      return next();
    }

    if (presented) {
      const w = fail(ip);
      if (w !== null) return tooMany(c, w);
    }
    if (wantsHtml(c)) return c.redirect("/login", 303);
    c.header("WWW-Authenticate", 'Bearer realm="ngb"');
    return c.json(
      {
        error: "unauthorized",
        message: presented
          ? "invalid token"
          : "missing token: send Authorization: Bearer <token> (see web.token / <dataDir>/web-token)",
      },
      401,
    );
  };

  return { middleware, check, sessionValue, fail, blocked, setSession, clearSession };
}
