import { describe, expect, test } from "bun:test";
import {
  createBackoff,
  RateLimitedError,
  retryAfterFromHeaders,
  secondsToMs,
  sleep,
  withRateLimitRetry,
} from "./backoff.ts";

describe("createBackoff", () => {
  test("grows exponentially up to the cap, without jitter", () => {
    const b = createBackoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(b.attempts).toBe(6);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(100);
  });

  test("jitter stays within [base*(1-j), base]", () => {
    const low = createBackoff({ initialMs: 1000, jitter: 0.5, random: () => 0 });
    const high = createBackoff({ initialMs: 1000, jitter: 0.5, random: () => 0.999999 });
    expect(low.next()).toBe(500);
    expect(high.next()).toBe(1000);
    const real = createBackoff({ initialMs: 1000, jitter: 1 });
    for (let i = 0; i < 100; i++) {
      real.reset();
      const d = real.next();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});

describe("retry-after parsing", () => {
  test("Retry-After seconds, HTTP date, Discord reset-after, absent", () => {
    expect(retryAfterFromHeaders(new Headers({ "retry-after": "3" }))).toBe(3000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterFromHeaders(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }), now)).toBe(
      5000,
    );
    expect(retryAfterFromHeaders(new Headers({ "x-ratelimit-reset-after": "1.25" }))).toBe(1250);
    expect(retryAfterFromHeaders(new Headers())).toBeUndefined();
    expect(retryAfterFromHeaders(new Headers({ "retry-after": "soon" }))).toBeUndefined();
  });

  test("secondsToMs", () => {
    expect(secondsToMs(1.5)).toBe(1500);
    expect(secondsToMs("1")).toBeUndefined();
    expect(secondsToMs(-1)).toBeUndefined();
  });
});

describe("withRateLimitRetry", () => {
  test("waits the retry-after then succeeds", async () => {
    let calls = 0;
    const waits: number[] = [];
    const t0 = performance.now();
    const result = await withRateLimitRetry(
      async () => {
        calls++;
        if (calls < 3) throw new RateLimitedError("test", 20);
        return "ok";
      },
      { onWait: (e) => waits.push(e.retryAfterMs) },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(3);
    expect(waits).toEqual([20, 20]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
  });

  test("other errors propagate immediately; too many retries rethrow", async () => {
    let calls = 0;
    await expect(
      withRateLimitRetry(async () => {
        calls++;
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(calls).toBe(1);
    await expect(
      withRateLimitRetry(
        async () => {
          throw new RateLimitedError("test", 1);
        },
        { maxRetries: 2 },
      ),
    ).rejects.toBeInstanceOf(RateLimitedError);
    await expect(
      withRateLimitRetry(
        async () => {
          throw new RateLimitedError("test", 10_000);
        },
        { maxWaitMs: 100 },
      ),
    ).rejects.toThrow("retry after 10 s");
  });

  test("sleep ends early on abort", async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const p = sleep(10_000, ac.signal);
    ac.abort();
    await p;
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
