/**
 * Sessions, the Origin rule and login throttling, through the real app: server-side session ids
 * that expire and are revoked, cookie-authenticated writes and WebSocket upgrades refused from
 * another origin (another port of the same host included), and a throttle that never locks out
 * the right token nor lets one noisy address block another.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventBus } from "../events/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { webDeps } from "../../test/support/web-deps.ts";
import { createApp, type WebApp } from "./app.ts";
import { createLoginLimit } from "./login-limit.ts";
import { originRefusal } from "./origin.ts";
import { createSessionStore } from "./sessions.ts";

const TOKEN = "test-token-0123456789abcdef";
const BASE = "http://127.0.0.1:3000";
let dir: string;
let store: Store;
let app: WebApp;
let now: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-auth-"));
  store = openStore(join(dir, "ngb.db"));
  now = Date.parse("2026-03-01T10:00:00Z");
  app = createApp({
    ...webDeps({ store, events: createEventBus(), token: TOKEN, groupsDir: join(dir, "groups") }),
    ready: () => true,
    now: () => now,
    authLimit: { maxFailures: 3, windowMs: 60_000 },
    sessions: { idleMs: 60 * 60_000, maxAgeMs: 24 * 3600_000 },
    mount: (hono) => {
      hono.get("/api/webchat/ws", (c) => c.text("upgraded"));
    },
  });
});

afterEach(() => {
  app.dispose();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const req = (path: string, init: RequestInit = {}) => app.request(`${BASE}${path}`, init);

async function login(): Promise<string> {
  const r = await req("/login", { method: "POST", body: new URLSearchParams({ token: TOKEN }) });
  expect(r.status).toBe(303);
  const cookie = r.headers.get("set-cookie") ?? "";
  return cookie.split(";")[0]!;
}

describe("sessions", () => {
  test("the cookie is a random id, not derived from the token, host-only and scoped to /", async () => {
    const r = await req("/login", { method: "POST", body: new URLSearchParams({ token: TOKEN }) });
    const header = r.headers.get("set-cookie") ?? "";
    expect(header).toMatch(/^ngb_session=[A-Za-z0-9_-]{43};/);
    expect(header).toContain("HttpOnly");
    expect(header).toContain("SameSite=Strict");
    expect(header).toContain("Path=/");
    expect(header).not.toContain("Domain");
    expect(header).not.toContain("Secure");
    const a = await login();
    const b = await login();
    expect(a).not.toBe(b);
  });

  test("over https the cookie is Secure and __Host- prefixed", async () => {
    const r = await app.request("https://ngb.example/login", {
      method: "POST",
      body: new URLSearchParams({ token: TOKEN }),
    });
    const header = r.headers.get("set-cookie") ?? "";
    expect(header).toStartWith("__Host-ngb_session=");
    expect(header).toContain("Secure");
    const cookie = header.split(";")[0]!;
    expect((await app.request("https://ngb.example/api/groups", { headers: { cookie } })).status).toBe(200);
  });

  test("a forged or unknown session id is refused without counting as a failed login", async () => {
    for (let i = 0; i < 10; i++)
      expect(
        (await req("/api/groups", { headers: { cookie: `ngb_session=${"x".repeat(43)}` } })).status,
      ).toBe(401);
    const r = await req("/api/groups", { headers: { cookie: "ngb_session=nope" } });
    expect(await r.json()).toMatchObject({ message: expect.stringContaining("log in again") });
    // Still not throttled: a wrong token gets a plain 401.
    expect((await req("/api/groups", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
  });

  test("logout revokes the session on the server: the old cookie no longer works", async () => {
    const cookie = await login();
    expect((await req("/api/groups", { headers: { cookie } })).status).toBe(200);
    const out = await req("/logout", { method: "POST", headers: { cookie, origin: BASE } });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toContain("ngb_session=;");
    expect((await req("/api/groups", { headers: { cookie } })).status).toBe(401);
  });

  test("a page elsewhere cannot log the owner out", async () => {
    const cookie = await login();
    const r = await req("/logout", { method: "POST", headers: { cookie, origin: "http://127.0.0.1:4000" } });
    expect(r.status).toBe(403);
    expect((await req("/api/groups", { headers: { cookie } })).status).toBe(200);
  });

  test("a session ends after the idle timeout, and after its maximum age however busy", async () => {
    const idle = await login();
    now += 59 * 60_000;
    expect((await req("/api/groups", { headers: { cookie: idle } })).status).toBe(200);
    now += 59 * 60_000; // used 59 min ago: still alive
    expect((await req("/api/groups", { headers: { cookie: idle } })).status).toBe(200);
    now += 61 * 60_000;
    expect((await req("/api/groups", { headers: { cookie: idle } })).status).toBe(401);

    const busy = await login();
    for (let h = 0; h < 23; h++) {
      now += 3600_000 - 1;
      expect((await req("/api/groups", { headers: { cookie: busy } })).status).toBe(200);
    }
    now += 3600_000;
    expect((await req("/api/groups", { headers: { cookie: busy } })).status).toBe(401);
  });

  test("a new token (a new server) ends every session; the store is bounded", () => {
    const sessions = createSessionStore({ maxSessions: 3, now: () => now });
    const ids = [sessions.create(), sessions.create(), sessions.create(), sessions.create()];
    expect(sessions.size()).toBe(3);
    expect(sessions.touch(ids[0]!)).toBe(false); // the least recently used went first
    expect(sessions.touch(ids[3]!)).toBe(true);
    sessions.revokeAll();
    expect(sessions.touch(ids[3]!)).toBe(false);
    expect(sessions.size()).toBe(0);
  });
});

describe("Origin rule for cookie requests", () => {
  test("a cookie-authenticated write needs our own Origin (or Referer)", async () => {
    const cookie = await login();
    const del = (headers: Record<string, string>) =>
      req("/api/groups/none", { method: "DELETE", headers: { cookie, ...headers } });
    // Another port of the same host is another origin (SameSite would let the cookie through).
    expect((await del({ origin: "http://127.0.0.1:4000" })).status).toBe(403);
    expect((await del({ origin: "null" })).status).toBe(403);
    expect((await del({})).status).toBe(403);
    expect((await del({ referer: "http://127.0.0.1:4000/x" })).status).toBe(403);
    // Our own origin passes the rule (the group does not exist: 404, not 403).
    expect((await del({ origin: BASE })).status).toBe(404);
    expect((await del({ referer: `${BASE}/#/groups` })).status).toBe(404);
    const body = await (await del({ origin: "http://127.0.0.1:4000" })).json();
    expect(body).toMatchObject({ error: "forbidden", message: expect.stringContaining("127.0.0.1:4000") });
  });

  test("a cookie read from a foreign Origin is refused; a plain page load passes", async () => {
    const cookie = await login();
    expect((await req("/api/groups", { headers: { cookie, origin: "http://127.0.0.1:4000" } })).status).toBe(
      403,
    );
    expect((await req("/api/groups", { headers: { cookie } })).status).toBe(200);
  });

  test("WebSocket upgrades (web chat) need our own Origin", async () => {
    const cookie = await login();
    const ws = (headers: Record<string, string>) =>
      req("/api/webchat/ws", {
        headers: { cookie, upgrade: "websocket", connection: "Upgrade", ...headers },
      });
    expect((await ws({ origin: "http://127.0.0.1:4000" })).status).toBe(403);
    expect((await ws({})).status).toBe(403);
    expect((await ws({ origin: BASE })).status).toBe(200);
  });

  test("bearer-token scripts are not affected", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await req("/api/groups/none", { method: "DELETE", headers: auth })).status).toBe(404);
    expect(
      (await req("/api/webchat/ws", { headers: { ...auth, upgrade: "websocket", origin: "http://x:1" } }))
        .status,
    ).toBe(200);
  });

  test("originRefusal in isolation", () => {
    const r = (method: string, headers: Record<string, string>) =>
      originRefusal(new Request("http://localhost:3000/api/x", { method, headers }));
    expect(r("GET", {})).toBeNull();
    expect(r("POST", { origin: "http://localhost:3000" })).toBeNull();
    expect(r("POST", { origin: "http://localhost:3001" })).toContain("localhost:3001");
    expect(r("PATCH", {})).toContain("without an Origin or Referer");
    expect(r("GET", { upgrade: "websocket" })).toContain("WebSocket");
    expect(r("GET", { origin: "http://evil.example" })).toContain("evil.example");
  });
});

describe("login throttling", () => {
  test("ten wrong tokens, then the right one: it works at once (issue 11)", async () => {
    for (let i = 0; i < 10; i++)
      await req("/login", { method: "POST", body: new URLSearchParams({ token: `wrong-${i}` }) });
    expect(
      (await req("/login", { method: "POST", body: new URLSearchParams({ token: "wrong" }) })).status,
    ).toBe(429);
    const ok = await req("/login", { method: "POST", body: new URLSearchParams({ token: TOKEN }) });
    expect(ok.status).toBe(303);
    expect((await req("/api/groups", { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  test("one noisy address does not block another; the table is bounded", () => {
    const limit = createLoginLimit({ maxFailures: 3, windowMs: 60_000, maxAddresses: 100, now: () => now });
    for (let i = 0; i < 50; i++) limit.fail("10.0.0.1");
    expect(limit.blocked("10.0.0.1")).toBeGreaterThan(0);
    expect(limit.blocked("10.0.0.2")).toBeNull();
    expect(limit.fail("10.0.0.2")).toBeNull();
    for (let i = 0; i < 1000; i++) limit.fail(`192.168.${i >> 8}.${i & 255}`);
    expect(limit.size()).toBeLessThanOrEqual(100);
    now += 60_000;
    expect(limit.blocked("10.0.0.1")).toBeNull();
  });
});
