import { describe, expect, test } from "bun:test";
import type { Clock } from "./clock.ts";
import { ChannelError } from "./errors.ts";
import { createTokenCache, createTokenCaches, type FetchedToken } from "./token-cache.ts";

function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: async () => {},
    advance(ms) {
      now += ms;
    },
  };
}

/** A token endpoint: tokens t1, t2…, each valid `lifetimeMs`; can be told to fail or stall. */
function endpoint(lifetimeMs = 7_200_000) {
  let n = 0;
  let fail: unknown;
  let gate: Promise<void> | undefined;
  return {
    calls: () => n,
    failWith(err: unknown) {
      fail = err;
    },
    stall() {
      let open!: () => void;
      gate = new Promise((r) => {
        open = r;
      });
      return () => {
        gate = undefined;
        open();
      };
    },
    async fetchToken(): Promise<FetchedToken> {
      n++;
      if (gate) await gate;
      if (fail) throw fail;
      return { token: `t${n}`, expiresInMs: lifetimeMs };
    },
  };
}

describe("token cache", () => {
  test("caches until the refresh-ahead point, then refreshes in the background without making callers wait", async () => {
    const clock = fakeClock();
    const ep = endpoint(7_200_000);
    const cache = createTokenCache({
      channel: "x",
      fetchToken: ep.fetchToken,
      clock,
      refreshAheadMs: 180_000,
    });
    expect(await cache.get()).toBe("t1");
    clock.advance(7_200_000 - 180_001);
    expect(await cache.get()).toBe("t1");
    expect(ep.calls()).toBe(1);
    clock.advance(2);
    const open = ep.stall(); // a slow token endpoint: callers still get the valid token at once
    expect(await cache.get()).toBe("t1");
    expect(await cache.get()).toBe("t1");
    expect(ep.calls()).toBe(2); // one refresh in flight
    open();
    await Bun.sleep(0);
    expect(await cache.get()).toBe("t2");
    expect(ep.calls()).toBe(2);
  });

  test("an expired token makes callers wait for the refresh", async () => {
    const clock = fakeClock();
    const ep = endpoint(60_000);
    const cache = createTokenCache({ channel: "x", fetchToken: ep.fetchToken, clock });
    expect(await cache.get()).toBe("t1");
    clock.advance(60_001);
    expect(await cache.get()).toBe("t2");
  });

  test("one refresh in flight: concurrent callers share it", async () => {
    const ep = endpoint();
    const open = ep.stall();
    const cache = createTokenCache({ channel: "x", fetchToken: ep.fetchToken, clock: fakeClock() });
    const all = Promise.all([cache.get(), cache.get(), cache.get(), cache.get()]);
    open();
    expect(await all).toEqual(["t1", "t1", "t1", "t1"]);
    expect(ep.calls()).toBe(1);
  });

  test("a failed early refresh keeps using the old token until it really expires", async () => {
    const clock = fakeClock();
    const ep = endpoint(600_000);
    const cache = createTokenCache({
      channel: "x",
      fetchToken: ep.fetchToken,
      clock,
      refreshAheadMs: 60_000,
    });
    expect(await cache.get()).toBe("t1");
    clock.advance(590_000);
    ep.failWith(new ChannelError("x", "network", "token endpoint down"));
    expect(await cache.get()).toBe("t1");
    clock.advance(20_000); // expired now
    await expect(cache.get()).rejects.toThrow("token endpoint down");
  });

  test("a failing endpoint is not hammered: callers within the cool-down get the same error", async () => {
    const clock = fakeClock();
    const ep = endpoint();
    ep.failWith(new ChannelError("x", "network", "down"));
    const cache = createTokenCache({
      channel: "x",
      fetchToken: ep.fetchToken,
      clock,
      failureCooldownMs: 1_000,
    });
    for (let i = 0; i < 10; i++) await expect(cache.get()).rejects.toThrow("down");
    expect(ep.calls()).toBe(1);
    clock.advance(1_001);
    await expect(cache.get()).rejects.toThrow("down");
    expect(ep.calls()).toBe(2);
  });

  test("garbage from the endpoint is a network ChannelError, not a cached empty token", async () => {
    const cache = createTokenCache({
      channel: "feishu",
      clock: fakeClock(),
      fetchToken: async () => ({ token: "", expiresInMs: Number.NaN }) as FetchedToken,
    });
    const err = await cache.get().catch((e) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect(err.kind).toBe("network");
    expect(err.permanent).toBe(false);
  });

  test("withToken: an auth error drops the token and retries once with a fresh one", async () => {
    const ep = endpoint();
    const cache = createTokenCache({ channel: "x", fetchToken: ep.fetchToken, clock: fakeClock() });
    const seen: string[] = [];
    const result = await cache.withToken(async (token) => {
      seen.push(token);
      if (token === "t1") throw new ChannelError("x", "auth", "token expired");
      return "sent";
    });
    expect(result).toBe("sent");
    expect(seen).toEqual(["t1", "t2"]);
    // Only once: a second auth failure is the caller's.
    const err = await cache
      .withToken(async () => {
        throw new ChannelError("x", "auth", "still refused");
      })
      .catch((e) => e);
    expect(err.message).toBe("still refused");
    expect(ep.calls()).toBe(3);
  });

  test("withToken does not retry other failures", async () => {
    const ep = endpoint();
    const cache = createTokenCache({ channel: "x", fetchToken: ep.fetchToken, clock: fakeClock() });
    let calls = 0;
    await expect(
      cache.withToken(async () => {
        calls++;
        throw new ChannelError("x", "refused", "no such chat");
      }),
    ).rejects.toThrow("no such chat");
    expect(calls).toBe(1);
    expect(ep.calls()).toBe(1);
  });

  test("invalidate(token) drops only that token", async () => {
    const ep = endpoint();
    const cache = createTokenCache({ channel: "x", fetchToken: ep.fetchToken, clock: fakeClock() });
    expect(await cache.get()).toBe("t1");
    cache.invalidate("t0");
    expect(await cache.get()).toBe("t1");
    cache.invalidate("t1");
    expect(await cache.get()).toBe("t2");
  });

  test("caches are shared by key", () => {
    const caches = createTokenCaches();
    const opts = { channel: "x", fetchToken: endpoint().fetchToken };
    expect(caches.get("feishu:cli_a", opts)).toBe(caches.get("feishu:cli_a", opts));
    expect(caches.get("feishu:cli_a", opts)).not.toBe(caches.get("feishu:cli_b", opts));
  });
});
