import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import type { ChannelStatusUpdate } from "../../orchestrator/channel.ts";
import { authorship, createOwnPosts } from "./authorship.ts";
import { RateLimitedError } from "./backoff.ts";
import { defineChannel } from "./define.ts";
import { ChannelError, isPermanentChannelError } from "./errors.ts";
import { createHealth } from "./health.ts";
import { chunkKey, sendChunks } from "./send.ts";

describe("ChannelError", () => {
  test("permanent by kind unless told otherwise", () => {
    expect(new ChannelError("x", "refused", "no").permanent).toBe(true);
    expect(new ChannelError("x", "auth", "no").permanent).toBe(true);
    expect(new ChannelError("x", "config", "no").permanent).toBe(true);
    expect(new ChannelError("x", "network", "no").permanent).toBe(false);
    expect(new ChannelError("x", "refused", "busy", { permanent: false }).permanent).toBe(false);
    expect(isPermanentChannelError(new ChannelError("x", "refused", "no"))).toBe(true);
    expect(isPermanentChannelError(new Error("TelegramApiError"))).toBe(false);
  });

  test("never carries a secret, in its message or its cause; the cause is kept", () => {
    const token = "123456:AAHsecret-token";
    const cause = new TypeError(`fetch https://api.telegram.org/bot${token}/getMe failed`);
    const err = new ChannelError("telegram", "network", `calling bot${token}/getMe failed`, {
      cause,
      secrets: [token],
    });
    expect(err.message).not.toContain(token);
    expect(String((err.cause as Error).message)).not.toContain(token);
    expect((err.cause as Error).name).toBe("TypeError");
    expect(String((err.cause as Error).stack)).not.toContain(token);
    const clean = new Error("plain");
    expect(new ChannelError("x", "network", "m", { cause: clean, secrets: [token] }).cause).toBe(clean);
  });

  test("RateLimitedError is a transient ChannelError with retryAfterMs", () => {
    const err = new RateLimitedError("slack", 1500, "chat.postMessage");
    expect(err).toBeInstanceOf(ChannelError);
    expect(err.kind).toBe("rate_limited");
    expect(err.permanent).toBe(false);
    expect(err.retryAfterMs).toBe(1500);
    expect(err.platform).toBe("slack");
    expect(err.name).toBe("RateLimitedError");
  });
});

describe("health helper", () => {
  test("connectedSince, lastError, qr, and reports only changes", () => {
    let t = 100;
    const seen: ChannelStatusUpdate[] = [];
    const h = createHealth("demo", { clock: { now: () => t } });
    h.attach({ inbound: async () => true, discovered() {}, status: (u) => seen.push(u) });
    h.set({ state: "connecting" });
    h.set({ state: "connecting", qr: "2@abc" });
    expect(h.snapshot().qr).toBe("2@abc");
    t = 200;
    h.set({ state: "connected" });
    h.set({ state: "connected" }); // a repeat: not reported, connectedSince unchanged
    t = 300;
    h.set({ state: "connected" });
    expect(h.snapshot()).toEqual({ name: "demo", state: "connected", connectedSince: 200 });
    h.set({ state: "error", error: "boom" });
    expect(h.snapshot()).toEqual({ name: "demo", state: "error", lastError: "boom", lastErrorAt: 300 });
    h.set({ state: "error", error: "boom again" });
    expect(seen.map((u) => u.state)).toEqual(["connecting", "connecting", "connected", "error", "error"]);
  });
});

describe("authorship: one rule for 'this message is ours'", () => {
  test("ours → isFromMe and isBot; another bot → isBot; people → neither", () => {
    expect(authorship({ ours: true })).toEqual({ isFromMe: true, isBot: true });
    expect(authorship({ ours: true, bot: false })).toEqual({ isFromMe: true, isBot: true });
    expect(authorship({ ours: false, bot: true })).toEqual({ isBot: true });
    expect(authorship({ ours: false })).toEqual({});
  });

  test("own posts are recognised once per note and forgotten after the ttl", () => {
    let t = 0;
    const own = createOwnPosts({ ttlMs: 1000, now: () => t });
    own.note("a");
    own.note("a");
    expect(own.consume("a")).toBe(true);
    expect(own.consume("a")).toBe(true);
    expect(own.consume("a")).toBe(false);
    own.note("b");
    t = 2000;
    expect(own.consume("b")).toBe(false);
  });

  test("bounded", () => {
    const own = createOwnPosts({ max: 10 });
    for (let i = 0; i < 100; i++) own.note(`k${i}`);
    expect(own.size).toBeLessThanOrEqual(10);
    expect(own.consume("k99")).toBe(true);
    expect(own.consume("k0")).toBe(false);
  });
});

describe("sendChunks / chunkKey", () => {
  test("resumes at fromChunk and reports each accepted chunk before the next", async () => {
    const log: string[] = [];
    await sendChunks(
      "x",
      ["a", "b", "c", "d"],
      { fromChunk: 2, onChunkSent: (i) => log.push(`ok ${i}`) },
      async (c, i) => {
        log.push(`send ${c} ${i}`);
      },
    );
    expect(log).toEqual(["send c 2", "ok 2", "send d 3", "ok 3"]);
  });

  test("a failed chunk stops the reply and is not reported", async () => {
    const sent: number[] = [];
    const err = await sendChunks(
      "x",
      ["a", "b", "c"],
      { onChunkSent: (i) => sent.push(i) },
      async (_c, i) => {
        if (i === 1) throw new ChannelError("x", "network", "reset");
      },
    ).catch((e) => e);
    expect(err.message).toBe("reset");
    expect(sent).toEqual([0]);
  });

  test("a bad fromChunk is a config error", async () => {
    await expect(sendChunks("x", ["a"], { fromChunk: -1 }, async () => {})).rejects.toBeInstanceOf(
      ChannelError,
    );
  });

  test("chunk keys are stable, per chunk, per reply, and of the asked length", () => {
    const k = chunkKey("reply-1", 0, 25);
    expect(k).toHaveLength(25);
    expect(k).toBe(chunkKey("reply-1", 0, 25));
    expect(k).not.toBe(chunkKey("reply-1", 1, 25));
    expect(k).not.toBe(chunkKey("reply-2", 0, 25));
    expect(chunkKey("r", 0, 28, { upper: true })).toMatch(/^[0-9A-F]{28}$/);
  });
});

describe("defineChannel", () => {
  const schema = v.strictObject({ token: v.optional(v.string()), url: v.optional(v.string(), "https://x") });
  const create = async () => {
    throw new Error("not built in this test");
  };

  test("owns its prefix; checks its own declaration", () => {
    const def = defineChannel({
      name: "demo",
      title: "Demo",
      jidPrefix: "demo:",
      configSchema: schema,
      secretKeys: ["token"],
      create,
    });
    expect(def.ownsJid("demo:1")).toBe(true);
    expect(def.ownsJid("demo:")).toBe(false);
    expect(def.ownsJid("tg:1")).toBe(false);
    expect(() =>
      defineChannel({ name: "Demo", title: "D", jidPrefix: "demo:", configSchema: schema, create }),
    ).toThrow("must match");
    expect(() =>
      defineChannel({ name: "demo", title: "D", jidPrefix: "demo", configSchema: schema, create }),
    ).toThrow("jidPrefix");
    expect(() =>
      defineChannel({
        name: "demo",
        title: "D",
        jidPrefix: "demo:",
        configSchema: schema,
        secretKeys: ["secret"] as never,
        create,
      }),
    ).toThrow('"secret" is not a key');
    expect(() =>
      defineChannel({
        name: "demo",
        title: "D",
        jidPrefix: "demo:",
        configSchema: v.strictObject({ enabled: v.optional(v.boolean()) }),
        create,
      }),
    ).toThrow("added by the kit");
    expect(() =>
      defineChannel({ name: "web", title: "W", jidPrefix: "web:", configSchema: schema, create }),
    ).toThrow("built-in");
  });
});
