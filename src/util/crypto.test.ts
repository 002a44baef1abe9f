import { createHash, createHmac } from "node:crypto";
import { expect, test } from "bun:test";
import { hmacSha256, randomHex, randomToken, safeEqual, sha256 } from "./crypto.ts";

test("hashes agree with node:crypto", () => {
  expect(sha256("abc").toString("hex")).toBe(createHash("sha256").update("abc").digest("hex"));
  expect(hmacSha256("key", "msg").toString("base64url")).toBe(
    createHmac("sha256", "key").update("msg").digest("base64url"),
  );
});

test("random values have the asked size and differ", () => {
  expect(randomHex(6)).toMatch(/^[0-9a-f]{12}$/);
  expect(randomToken(32)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(randomHex(8)).not.toBe(randomHex(8));
});

test("safeEqual", () => {
  expect(safeEqual("secret", "secret")).toBe(true);
  expect(safeEqual("secret", "secreT")).toBe(false);
  expect(safeEqual("secret", "secret-longer")).toBe(false);
  expect(safeEqual("", "")).toBe(true);
});
