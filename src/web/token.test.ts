import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../util/errors.ts";
import { assertSafeBind, dashboardHint, ensureWebToken, isLoopbackHost } from "./token.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-token-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cfg = (web: { host?: string; token?: string } = {}) => ({
  dataDir: join(dir, "data"),
  web: { host: web.host ?? "127.0.0.1", port: 3000, token: web.token },
});

test("generates a 32-byte token stored 0600, then reuses it", () => {
  const first = ensureWebToken(cfg());
  expect(first.generated).toBe(true);
  expect(Buffer.from(first.token, "base64url")).toHaveLength(32);
  expect(statSync(first.file!).mode & 0o777).toBe(0o600);
  expect(readFileSync(first.file!, "utf8").trim()).toBe(first.token);
  const again = ensureWebToken(cfg());
  expect(again).toEqual({ token: first.token, file: first.file, generated: false });
});

test("a world-readable token file is tightened; a configured token wins", () => {
  const t = ensureWebToken(cfg());
  chmodSync(t.file!, 0o644);
  ensureWebToken(cfg());
  expect(statSync(t.file!).mode & 0o777).toBe(0o600);
  const configured = ensureWebToken(cfg({ token: "configured-token-0123456789" }));
  expect(configured).toEqual({ token: "configured-token-0123456789", file: null, generated: false });
  expect(() => ensureWebToken(cfg({ token: "short" }))).toThrow(UserError);
});

test("an empty token file is replaced", () => {
  ensureWebToken(cfg());
  writeFileSync(join(dir, "data", "web-token"), "\n");
  const t = ensureWebToken(cfg());
  expect(t.generated).toBe(true);
  expect(t.token.length).toBeGreaterThan(30);
});

test("non-loopback binds need an explicit token", () => {
  expect(isLoopbackHost("127.0.0.1")).toBe(true);
  expect(isLoopbackHost("::1")).toBe(true);
  expect(isLoopbackHost("0.0.0.0")).toBe(false);
  expect(() => assertSafeBind(cfg())).not.toThrow();
  expect(() => assertSafeBind(cfg({ host: "0.0.0.0" }))).toThrow(/without an explicit token/);
  expect(() => assertSafeBind(cfg({ host: "0.0.0.0", token: "configured-token-0123456789" }))).not.toThrow();
});

test("the hint shows the token only when it was just generated and stderr is a terminal", () => {
  const fresh = { token: "abc", file: "/d/web-token", generated: true };
  expect(dashboardHint("http://127.0.0.1:3000", fresh, true)).toContain("?token=abc");
  expect(dashboardHint("http://127.0.0.1:3000", fresh, false)).not.toContain("abc");
  const later = dashboardHint("http://127.0.0.1:3000", { ...fresh, generated: false }, true);
  expect(later).not.toContain("abc");
  expect(later).toContain("/d/web-token");
});
