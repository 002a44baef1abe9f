import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConsola } from "consola";
import * as v from "valibot";
import { type FakeAnthropic, startFakeAnthropic } from "../../test/fakes/anthropic.ts";
import { Config } from "../config/index.ts";
import { silentLogger } from "../log/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { type CredentialProxy, createCredentialProxy } from "./index.ts";

const REAL_KEY = "sk-ant-real-key-never-leaves-host";
let dir: string;
let store: Store;
let fake: FakeAnthropic;
let proxy: CredentialProxy | undefined;
const cleanups: (() => unknown)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-proxy-"));
  store = openStore(join(dir, "ngb.db"));
  fake = startFakeAnthropic({
    script: () => ({ text: "hello from the fake model", usage: { inputTokens: 42, outputTokens: 7 } }),
  });
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  for (const c of cleanups.splice(0)) await c();
  await fake.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(anthropic: Record<string, unknown> = { apiKey: REAL_KEY }, log = silentLogger()) {
  const config = v.parse(Config, { anthropic: { baseUrl: fake.url, ...anthropic } });
  proxy = createCredentialProxy({ config, store, log, socketPath: join(dir, "proxy", "proxy.sock") });
  return proxy;
}

function call(
  token: string | null,
  body: unknown = { model: "m", max_tokens: 10, stream: true, messages: [{ role: "user", content: "hi" }] },
  extra: Record<string, string> = {},
) {
  return fetch("http://localhost/v1/messages?beta=true", {
    unix: proxy!.socketPath,
    method: "POST",
    headers: {
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      ...(token ? { "x-api-key": token } : {}),
      ...extra,
    },
    body: JSON.stringify(body),
  } as RequestInit);
}

describe("credential proxy", () => {
  test("refuses requests without a valid token, before touching the upstream", async () => {
    const p = start();
    for (const token of [null, "ngbp_wrong"]) {
      const res = await call(token);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { type: string; message: string } };
      expect(body.error.type).toBe("authentication_error");
    }
    const t = p.issue("alpha");
    p.revoke(t);
    expect((await call(t)).status).toBe(401);
    expect(fake.requests).toHaveLength(0);
  });

  test("swaps the token for the real key, forwards path, query and headers, streams SSE, records usage", async () => {
    const p = start();
    const token = p.issue("alpha");
    const res = await call(token, undefined, { "anthropic-beta": "x-1" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const text = await res.text();
    expect(text).toContain("event: message_start");
    expect(text).toContain("hello from the ");
    expect(text).toContain("event: message_stop");

    const req = fake.requests[0]!;
    expect(req.path).toBe("/v1/messages?beta=true");
    expect(req.headers["x-api-key"]).toBe(REAL_KEY);
    expect(req.headers["anthropic-version"]).toBe("2023-06-01");
    expect(req.headers["anthropic-beta"]).toBe("x-1");
    expect(JSON.stringify(req.headers)).not.toContain(token);
    expect(req.body.messages[0]!.content).toBe("hi");

    const usage = store.usage.list();
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ groupFolder: "alpha", requests: 1, inputTokens: 42, outputTokens: 7 });
  });

  test("usage from a non-streamed JSON reply is recorded too, per group", async () => {
    const p = start();
    const a = p.issue("alpha");
    const b = p.issue("beta");
    const body = { model: "m", max_tokens: 10, stream: false, messages: [{ role: "user", content: "hi" }] };
    expect(((await (await call(a, body)).json()) as { usage: unknown }).usage).toBeDefined();
    await (await call(b, body)).text();
    await (await call(b, body)).text();
    const rows = Object.fromEntries(store.usage.list().map((u) => [u.groupFolder, u]));
    expect(rows.alpha).toMatchObject({ requests: 1, inputTokens: 42, outputTokens: 7 });
    expect(rows.beta).toMatchObject({ requests: 2, inputTokens: 84, outputTokens: 14 });
  });

  test("an auth token is sent as Bearer with the OAuth beta; a Bearer container token works", async () => {
    const p = start({ authToken: "oauth-real" });
    const token = p.issue("alpha");
    const res = await call(null, undefined, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    await res.text();
    const h = fake.requests[0]!.headers;
    expect(h.authorization).toBe("Bearer oauth-real");
    expect(h["x-api-key"]).toBeUndefined();
    expect(h["anthropic-beta"]).toContain("oauth-2025-04-20");
  });

  test("no credentials configured → 401 saying how to set them (see auth-failure.test.ts)", async () => {
    const p = start({});
    const res = await call(p.issue("alpha"));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      "ANTHROPIC_API_KEY",
    );
    expect(fake.requests).toHaveLength(0);
  });

  test("only POST /v1/messages and /v1/messages/count_tokens are forwarded; the rest is 403 naming the path", async () => {
    const p = start();
    const token = p.issue("alpha");
    const refused: [string, string][] = [
      ["GET", "/admin/keys"],
      ["GET", "/v1/models"],
      ["POST", "/v1/messages/batches"],
      ["GET", "/v1/files"],
      ["POST", "/v1/files"],
      ["GET", "/v1/messages"],
      ["POST", "/v1/messages/../files"],
      ["POST", "/v1/complete"],
    ];
    for (const [method, path] of refused) {
      const res = await fetch(`http://localhost${path}`, {
        unix: p.socketPath,
        method,
        headers: { "x-api-key": token, "content-type": "application/json" },
        body: method === "POST" ? "{}" : undefined,
      } as RequestInit);
      expect(res.status).toBe(403);
      const body = (await res.json()) as { type: string; error: { type: string; message: string } };
      expect(body.type).toBe("error");
      expect(body.error.type).toBe("permission_error");
      expect(body.error.message).toContain(new URL(`http://x${path}`).pathname);
      expect(body.error.message).toContain("only POST /v1/messages and POST /v1/messages/count_tokens");
    }
    expect(fake.requests).toHaveLength(0);
    const count = await fetch("http://localhost/v1/messages/count_tokens", {
      unix: p.socketPath,
      method: "POST",
      headers: { "x-api-key": token, "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hello there" }] }),
    } as RequestInit);
    expect(count.status).toBe(200);
    expect(((await count.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
    expect((await call(token)).status).toBe(200);
  });

  test("a group over its daily token limit gets a clear 429 that says when it resets; others go on", async () => {
    let now = Date.parse("2026-03-01T20:30:00Z");
    const config = v.parse(Config, {
      anthropic: { baseUrl: fake.url, apiKey: REAL_KEY },
      quotas: { dailyTokensPerGroup: 100, dailyTokensByGroup: { beta: 0 } },
    });
    proxy = createCredentialProxy({
      config,
      store,
      log: silentLogger(),
      socketPath: join(dir, "proxy", "proxy.sock"),
      now: () => now,
    });
    const alpha = proxy.issue("alpha");
    // 49 tokens per call (42 in + 7 out): the third call starts at 98 < 100, the fourth is refused.
    for (let i = 0; i < 3; i++) {
      const res = await call(alpha);
      expect(res.status).toBe(200);
      await res.text();
    }
    store.usage.add("alpha", { inputTokens: 0, outputTokens: 0, cacheReadTokens: 10_000 }, now);
    const refused = await call(alpha);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("x-should-retry")).toBe("false");
    expect(Number(refused.headers.get("retry-after"))).toBe(3.5 * 3600);
    const body = (await refused.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("rate_limit_error");
    expect(body.error.message).toBe(
      "ngb: the daily token limit of group alpha (100 tokens) was reached (147 used today); it resets at 2026-03-02T00:00:00.000Z (in 3 h 30 min)",
    );
    expect(fake.requests).toHaveLength(3);
    // Another group, and a group whose override is 0 (no limit), carry on.
    expect((await call(proxy.issue("gamma"))).status).toBe(200);
    store.usage.add("beta", { inputTokens: 1_000_000, outputTokens: 0 }, now);
    expect((await call(proxy.issue("beta"))).status).toBe(200);
    // count_tokens costs nothing and stays open.
    const count = await fetch("http://localhost/v1/messages/count_tokens", {
      unix: proxy.socketPath,
      method: "POST",
      headers: { "x-api-key": alpha, "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
    } as RequestInit);
    expect(count.status).toBe(200);
    // A new UTC day starts from zero.
    now = Date.parse("2026-03-02T00:00:01Z");
    expect((await call(alpha)).status).toBe(200);
  });

  test("unreachable upstream → 502 naming the upstream", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const port = closed.port;
    const url = `http://127.0.0.1:${port}`;
    await closed.stop(true);
    const p = start({ apiKey: REAL_KEY, baseUrl: url });
    const res = await call(p.issue("alpha"));
    expect(res.status).toBe(502);
    const msg = ((await res.json()) as { error: { message: string } }).error.message;
    expect(msg).toContain("unreachable");
    expect(msg).toContain(`127.0.0.1:${port}`);
    expect(msg).not.toContain(REAL_KEY);
  });

  test("upstream errors pass through unchanged and count no usage", async () => {
    fake.setScript(() => ({ error: { status: 529, type: "overloaded_error", message: "busy" } }));
    const p = start();
    const res = await call(p.issue("alpha"));
    expect(res.status).toBe(529);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("overloaded_error");
    expect(store.usage.list()).toEqual([]);
  });

  test("SSE is streamed, not buffered: the first event arrives before the upstream finishes", async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const enc = new TextEncoder();
    const slow = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: () =>
        new Response(
          new ReadableStream<Uint8Array>({
            async start(c) {
              c.enqueue(
                enc.encode(
                  `event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}\n\n`,
                ),
              );
              await released;
              c.enqueue(
                enc.encode(
                  `event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":9}}\n\n`,
                ),
              );
              c.enqueue(enc.encode(`event: message_stop\ndata: {"type":"message_stop"}\n\n`));
              c.close();
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    });
    cleanups.push(() => slow.stop(true));
    const p = start({ apiKey: REAL_KEY, baseUrl: `http://127.0.0.1:${slow.port}` });
    const res = await call(p.issue("alpha"));
    const reader = res.body!.getReader();
    const first = await Promise.race([
      reader.read(),
      Bun.sleep(5000).then(() => {
        throw new Error("first SSE event did not arrive while upstream was still open: proxy buffers");
      }),
    ]);
    expect(new TextDecoder().decode(first.value)).toContain("message_start");
    expect(store.usage.list()).toEqual([]);
    release();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain("message_stop");
    expect(store.usage.list()[0]).toMatchObject({ inputTokens: 5, outputTokens: 9, requests: 1 });
  });

  test("the socket is connectable by any uid, and never logs tokens or keys", async () => {
    const lines: string[] = [];
    const log = createConsola({ level: 5, reporters: [{ log: (o) => lines.push(JSON.stringify(o.args)) }] });
    const p = start({ apiKey: REAL_KEY }, log);
    expect(statSync(p.socketPath).mode & 0o777).toBe(0o666);
    const token = p.issue("alpha");
    await (await call(token)).text();
    await (await call("ngbp_bogus")).text();
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join("\n");
    expect(all).not.toContain(REAL_KEY);
    expect(all).not.toContain(token);
    expect(all).not.toContain("ngbp_bogus");
  });

  test("stop removes the socket; a stale socket file is replaced at start", async () => {
    const p = start();
    const path = p.socketPath;
    await p.stop();
    proxy = undefined;
    expect(() => statSync(path)).toThrow();
    await Bun.write(path, "stale");
    const again = start();
    const res = await call(again.issue("alpha"));
    expect(res.status).toBe(200);
    await res.text();
  });

  test("a socket path longer than unix allows is a clear start error", () => {
    const config = v.parse(Config, {});
    expect(() =>
      createCredentialProxy({
        config,
        store,
        log: silentLogger(),
        socketPath: join(dir, "x".repeat(120), "proxy.sock"),
      }),
    ).toThrow("socket path is too long");
  });
});
