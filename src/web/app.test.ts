import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventBus, type EventBus } from "../events/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { createTaskService } from "../scheduler/index.ts";
import { idleRuntime, webDeps } from "../../test/support/web-deps.ts";
import { until } from "../../test/support/wait.ts";
import { createApp, type RuntimeStatus, type WebApp } from "./app.ts";

const TOKEN = "test-token-0123456789abcdef";
const auth = { authorization: `Bearer ${TOKEN}` };

let dir: string;
let store: Store;
let events: EventBus;
let app: WebApp;
let now: number;

function make(extra: Partial<Parameters<typeof createApp>[0]> = {}) {
  app?.dispose();
  app = createApp(
    webDeps(
      { store, events, token: TOKEN, groupsDir: join(dir, "groups") },
      { maxBodyBytes: 4096, now: () => now, authLimit: { maxFailures: 3, windowMs: 60_000 }, ...extra },
    ),
  );
  return app;
}

const get = (path: string, headers: Record<string, string> = auth) => app.request(path, { headers });
const send = (method: string, path: string, body: unknown, headers: Record<string, string> = auth) =>
  app.request(path, {
    method,
    headers: { ...headers, "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

function seed() {
  store.groups.add({
    jid: "tg:100",
    name: "Family",
    folder: "family",
    triggerPattern: null,
    requiresTrigger: true,
    isMain: false,
    containerConfig: null,
  });
  const base = Date.parse("2026-01-10T10:00:00Z");
  for (let i = 0; i < 30; i++)
    store.messages.insert({
      id: `m${i}`,
      chatJid: "tg:100",
      sender: "u1",
      senderName: "Ann",
      content: i === 7 ? 'the "quoted" AND NEAR( thing* col:x' : `hello number ${i} pancakes`,
      timestamp: base + i * 60_000,
    });
  store.messages.discoverChat({ jid: "dc:555", name: "Lonely", isGroup: true });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-web-"));
  store = openStore(join(dir, "ngb.db"));
  events = createEventBus();
  now = 1_000_000;
  make();
  seed();
});

afterEach(() => {
  app.dispose();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("auth", () => {
  test("health is public, everything else needs the token", async () => {
    expect((await get("/healthz", {})).status).toBe(200);
    expect((await get("/readyz", {})).status).toBe(200);
    const r = await get("/api/groups", {});
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: "unauthorized" });
    expect((await get("/metrics", {})).status).toBe(401);
    expect((await get("/api/openapi.json", {})).status).toBe(401);
    expect((await get("/api/groups")).status).toBe(200);
  });

  test("a wrong token is 401 and never echoed", async () => {
    const r = await get("/api/groups", { authorization: "Bearer wrong-token-xyz" });
    expect(r.status).toBe(401);
    expect(await r.text()).not.toContain("wrong-token-xyz");
    expect((await get("/api/groups", { authorization: `Basic ${TOKEN}` })).status).toBe(401);
  });

  test("repeated failures are rate-limited with Retry-After, then the window expires", async () => {
    for (let i = 0; i < 2; i++)
      expect((await get("/api/groups", { authorization: "Bearer nope" })).status).toBe(401);
    const third = await get("/api/groups", { authorization: "Bearer nope" });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    // The right token is checked first: it always gets in, even from a throttled address.
    expect((await get("/api/groups")).status).toBe(200);
    // …and a success clears the address's failures.
    expect((await get("/api/groups", { authorization: "Bearer nope" })).status).toBe(401);
  });

  test("login form sets an HttpOnly SameSite=Strict cookie that opens the API and dashboard", async () => {
    const page = await get("/", { accept: "text/html" });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login");
    expect((await get("/login", {})).status).toBe(200);

    const bad = await app.request("/login", { method: "POST", body: new URLSearchParams({ token: "nope" }) });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("set-cookie")).toBeNull();

    const ok = await app.request("/login", { method: "POST", body: new URLSearchParams({ token: TOKEN }) });
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get("set-cookie") ?? "";
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(";")[0] ?? "";
    expect((await get("/api/groups", { cookie: session })).status).toBe(200);
    expect((await get("/", { cookie: session })).status).toBe(200);
    // A cookie write from another origin is refused.
    const cross = await send("DELETE", "/api/groups/family", "", {
      cookie: session,
      origin: "http://localhost:9999",
    });
    expect(cross.status).toBe(403);
    expect((await get("/api/groups", { cookie: "ngb_session=forged" })).status).toBe(401);
  });

  test("the login form is rate-limited too", async () => {
    const attempt = (token: string) =>
      app.request("/login", { method: "POST", body: new URLSearchParams({ token }) });
    expect((await attempt("a")).status).toBe(401);
    expect((await attempt("b")).status).toBe(401);
    const third = await attempt("c");
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).not.toBeNull();
    // Never a lock-out: the right token still logs in.
    expect((await attempt(TOKEN)).status).toBe(303);
  });

  test("?token= logs in and strips the token from the address", async () => {
    const r = await get(`/?token=${TOKEN}`, {});
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/");
    expect(r.headers.get("set-cookie")).toContain("ngb_session=");
  });
});

describe("groups", () => {
  test("list, detail with recent messages and live agent state", async () => {
    const list = (await (await get("/api/groups")).json()) as { groups: { folder: string }[] };
    expect(list.groups.map((g) => g.folder)).toEqual(["family"]);
    make({
      runtime: idleRuntime({
        containers: () => [{ name: "ngb-family-1", groupFolder: "family", chatJid: "tg:100", startedAt: 1 }],
      }),
    });
    const detail = (await (await get("/api/groups/family?limit=5")).json()) as {
      group: { jid: string };
      messages: { seq: number; content: string }[];
      agent: { running: boolean };
    };
    expect(detail.group.jid).toBe("tg:100");
    expect(detail.messages).toHaveLength(5);
    expect(detail.messages.at(-1)?.content).toBe("hello number 29 pancakes");
    expect(detail.agent.running).toBe(true);
    expect((await get("/api/groups/nope")).status).toBe(404);
  });

  test("register, update, unregister; validation and conflicts", async () => {
    const seen: string[] = [];
    events.on("group.registered", (e) => seen.push(e.folder));
    const r = await send("POST", "/api/groups", { jid: "dc:555", name: "Lonely", folder: "lonely" });
    expect(r.status).toBe(201);
    expect(seen).toEqual(["lonely"]);
    expect((await send("POST", "/api/groups", { jid: "dc:556", name: "X", folder: "lonely" })).status).toBe(
      409,
    );

    const bad = await send("POST", "/api/groups", { jid: "dc:1", name: "X", folder: "../etc" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain("folder");
    expect((await send("POST", "/api/groups", { jid: "dc:1", name: 5, folder: "x" })).status).toBe(400);
    expect(
      (await send("POST", "/api/groups", { jid: "dc:1", name: "x", folder: "x", extra: 1 })).status,
    ).toBe(400);
    expect(
      (await send("POST", "/api/groups", { jid: "dc:1", name: "x", folder: "x", triggerPattern: "([" }))
        .status,
    ).toBe(400);

    const up = await send("PATCH", "/api/groups/lonely", {
      triggerPattern: "^hey",
      requiresTrigger: false,
      containerConfig: { memory: "2g" },
    });
    expect(up.status).toBe(200);
    expect(store.groups.byFolder("lonely")).toMatchObject({
      triggerPattern: "^hey",
      requiresTrigger: false,
      containerConfig: { memory: "2g" },
    });
    expect((await send("PATCH", "/api/groups/lonely", { containerConfig: { memory: "lots" } })).status).toBe(
      400,
    );

    expect((await send("DELETE", "/api/groups/lonely", "")).status).toBe(200);
    expect(store.groups.byFolder("lonely")).toBeNull();
    expect((await send("DELETE", "/api/groups/lonely", "")).status).toBe(404);
  });
});

describe("bad input", () => {
  test("malformed JSON is 400, oversized bodies are 413", async () => {
    const r = await send("POST", "/api/groups", "{not json");
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: "invalid_json" });
    const big = await send("POST", "/api/groups", { jid: "dc:1", name: "x".repeat(10_000), folder: "x" });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: "payload_too_large" });
  });

  test("path traversal in ids is refused", async () => {
    for (const path of [
      "/api/groups/..%2F..%2Fetc",
      "/api/groups/%2e%2e",
      "/api/chats/..%2Fx/messages",
      "/api/chats/web:..%2F..%2Fpasswd/messages",
      "/api/tasks/..%2Fx/runs",
      "/api/sessions/..%2Fx",
    ]) {
      const r = await app.request(path, {
        method: path.startsWith("/api/sessions") ? "DELETE" : "GET",
        headers: auth,
      });
      expect([400, 404]).toContain(r.status);
      const body = (await r.json()) as { error: string; message: string };
      expect(body.error).toBeString();
      expect(JSON.stringify(body)).not.toContain("stack");
    }
    expect((await get("/api/groups/..%2F..%2Fetc")).status).toBe(400);
  });

  test("wrong types in queries are 400 with the field named", async () => {
    const r = await get("/api/chats/tg:100/messages?limit=abc");
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toContain("limit");
    expect((await get("/api/messages/search?q=")).status).toBe(400);
    expect((await get("/api/messages/search?q=x&from=notadate")).status).toBe(400);
  });

  test("an unexpected error is a generic 500 without details", async () => {
    const broken = make({
      runtime: idleRuntime({
        containers: () => {
          throw new Error("secret internal path /home/x");
        },
      }),
    });
    const r = await broken.request("/api/containers", { headers: auth });
    expect(r.status).toBe(500);
    const text = await r.text();
    expect(text).not.toContain("secret");
    expect(JSON.parse(text)).toMatchObject({ error: "internal" });
  });
});

describe("messages", () => {
  test("paged by chat with a before cursor", async () => {
    const p1 = (await (await get("/api/chats/tg:100/messages?limit=10")).json()) as {
      messages: { seq: number }[];
      nextBefore: number;
    };
    expect(p1.messages).toHaveLength(10);
    const p2 = (await (await get(`/api/chats/tg:100/messages?limit=10&before=${p1.nextBefore}`)).json()) as {
      messages: { seq: number }[];
    };
    expect(p2.messages[0]?.seq).toBe(p1.nextBefore - 1);
    expect((await get("/api/chats/tg:999/messages")).status).toBe(404);
  });

  test("chats discovered include unregistered ones", async () => {
    const body = (await (await get("/api/chats")).json()) as {
      chats: { jid: string; groupFolder: string | null }[];
    };
    expect(body.chats.find((c) => c.jid === "dc:555")?.groupFolder).toBeNull();
    expect(body.chats.find((c) => c.jid === "tg:100")?.groupFolder).toBe("family");
  });

  test("search with chat and date filters", async () => {
    const all = (await (await get("/api/messages/search?q=pancakes&limit=100")).json()) as {
      hits: unknown[];
    };
    expect(all.hits).toHaveLength(29);
    const windowed = (await (
      await get("/api/messages/search?q=pancakes&from=2026-01-10T10:05:00Z&to=2026-01-10T10:09:00Z")
    ).json()) as { hits: { snippet: string }[] };
    expect(windowed.hits).toHaveLength(4); // 5, 6, 8, 9 (7 is the odd one)
    expect(windowed.hits[0]?.snippet).toContain("[pancakes]");
    const other = (await (await get("/api/messages/search?q=pancakes&chat=dc:555")).json()) as {
      hits: unknown[];
    };
    expect(other.hits).toHaveLength(0);
  });

  test("FTS syntax in the query is searched literally, never an error", async () => {
    for (const q of [
      '"',
      'the "quoted',
      "AND",
      "NEAR(",
      "thing*",
      "col:x",
      "OR NOT",
      "*",
      "^",
      "'; DROP TABLE messages;--",
    ]) {
      const r = await get(`/api/messages/search?q=${encodeURIComponent(q)}`);
      expect(r.status).toBe(200);
    }
    const hit = (await (await get(`/api/messages/search?q=${encodeURIComponent("NEAR( col:x")}`)).json()) as {
      hits: { id: string }[];
    };
    expect(hit.hits.map((h) => h.id)).toEqual(["m7"]);
    expect(store.messages.count()).toBe(30);
  });
});

describe("tasks", () => {
  const taskOps = () => createTaskService({ store, events, defaultTimezone: "UTC" });

  test("without the scheduler, reads work and writes say 503", async () => {
    expect((await get("/api/tasks")).status).toBe(200);
    const r = await send("POST", "/api/tasks", {
      groupFolder: "family",
      prompt: "hi",
      scheduleType: "interval",
      scheduleValue: "60000",
    });
    expect(r.status).toBe(503);
  });

  test("create, list, pause/resume/cancel, runs", async () => {
    make({ tasks: taskOps() });
    const r = await send("POST", "/api/tasks", {
      groupFolder: "family",
      prompt: "water the plants",
      scheduleType: "cron",
      scheduleValue: "0 9 * * *",
    });
    expect(r.status).toBe(201);
    expect(((await r.json()) as { task: { chatJid: string } }).task.chatJid).toBe("tg:100");
    const { tasks } = (await (await get("/api/tasks?group=family")).json()) as { tasks: { id: string }[] };
    expect(tasks).toHaveLength(1);
    const id = tasks[0]?.id ?? "";
    expect(
      ((await (await send("POST", `/api/tasks/${id}/pause`, "")).json()) as { task: { status: string } }).task
        .status,
    ).toBe("paused");
    expect((await send("POST", `/api/tasks/${id}/resume`, "")).status).toBe(200);
    expect((await send("POST", `/api/tasks/${id}/cancel`, "")).status).toBe(200);
    expect(store.tasks.get(id)?.status).toBe("cancelled");
    const again = await send("POST", `/api/tasks/${id}/resume`, "");
    expect(again.status).toBe(409);
    const badCron = await send("POST", "/api/tasks", {
      groupFolder: "family",
      prompt: "x",
      scheduleType: "cron",
      scheduleValue: "every tuesday-ish",
    });
    expect(badCron.status).toBe(400);
    expect((await get(`/api/tasks/${id}/runs`)).status).toBe(200);
    expect((await send("POST", "/api/tasks/nope/pause", "")).status).toBe(404);
    expect(
      (
        await send("POST", "/api/tasks", {
          groupFolder: "family",
          prompt: "x",
          scheduleType: "sometimes",
          scheduleValue: "1",
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await send("POST", "/api/tasks", {
          groupFolder: "ghost",
          prompt: "x",
          scheduleType: "once",
          scheduleValue: "1",
        })
      ).status,
    ).toBe(404);
  });
});

describe("system", () => {
  test("containers, channels and status from the runtime provider; stop", async () => {
    const stopped: string[] = [];
    const runtime: RuntimeStatus = {
      containers: () => [{ name: "ngb-family-1", groupFolder: "family", startedAt: 1 }],
      stopContainer: async (name) => {
        stopped.push(name);
        return name === "ngb-family-1";
      },
      queue: () => ({ active: 1, waiting: 2 }),
      channels: () => [{ name: "telegram", state: "connected", connectedSince: 5 }],
      uptimeMs: () => 90_500,
    };
    make({ runtime });
    const status = (await (await get("/api/status")).json()) as {
      queue: { waiting: number };
      channels: unknown[];
    };
    expect(status.queue.waiting).toBe(2);
    expect(status.channels).toHaveLength(1);
    expect((await send("DELETE", "/api/containers/ngb-family-1", "")).status).toBe(200);
    expect((await send("DELETE", "/api/containers/ngb-other", "")).status).toBe(404);
    expect(stopped).toEqual(["ngb-family-1", "ngb-other"]);
  });

  test("one source: status, channels, containers and metrics gauges all read the runtime", async () => {
    let running = [{ name: "ngb-family-1", groupFolder: "family", startedAt: 1 }];
    make({
      runtime: idleRuntime({
        containers: () => running,
        queue: () => ({ active: running.length, waiting: 3 }),
        channels: () => [
          { name: "whatsapp", state: "connecting", qr: "2@abc" },
          { name: "telegram", state: "error", lastError: "401 from api" },
        ],
        uptimeMs: () => 90_500,
      }),
    });
    // Bus events feed the recent-errors panel and counters, never a second copy of live state.
    events.emit("channel.status", { channel: "telegram", state: "error", error: "401 from api" });
    events.emit("agent.started", { groupFolder: "x", chatJid: "tg:9", containerName: "c9", reason: "task" });
    events.emit("channel.status", { channel: "discord", state: "connected" });
    const status = (await (await get("/api/status")).json()) as {
      uptimeSec: number;
      channels: { name: string; qr?: string }[];
      containers: { name: string }[];
      queue: { waiting: number };
      recentErrors: { message: string }[];
    };
    expect(status.uptimeSec).toBe(91);
    expect(status.channels.map((c) => c.name)).toEqual(["whatsapp", "telegram"]);
    expect(status.channels[0]?.qr).toBe("2@abc");
    expect(status.containers.map((c) => c.name)).toEqual(["ngb-family-1"]);
    expect(status.recentErrors[0]?.message).toBe("401 from api");
    const channels = (await (await get("/api/channels")).json()) as { channels: unknown[] };
    expect(channels.channels).toEqual(status.channels);
    let text = await (await get("/metrics")).text();
    expect(text).toContain("ngb_active_containers 1\n");
    expect(text).toContain("ngb_queue_waiting 3\n");
    expect(text).toContain('ngb_channel_up{channel="telegram"} 0');
    expect(text).not.toContain('channel="discord"');
    expect(text).toContain("ngb_uptime_seconds 91\n");
    running = [];
    text = await (await get("/metrics")).text();
    expect(text).toContain("ngb_active_containers 0\n");
    expect(((await (await get("/api/containers")).json()) as { containers: unknown[] }).containers).toEqual(
      [],
    );
  });

  test("refused logins and webhook calls are counted by source and reason", async () => {
    for (let i = 0; i < 2; i++)
      expect((await get("/api/status", { authorization: "Bearer nope" })).status).toBe(401);
    events.emit("request.rejected", { source: "telegram", reason: "bad_secret" });
    const text = await (await get("/metrics")).text();
    expect(text).toContain('ngb_public_requests_rejected_total{source="login",reason="unauthorized"} 2');
    expect(text).toContain('ngb_public_requests_rejected_total{source="telegram",reason="bad_secret"} 1');
  });

  test("sessions list and clear; plugins empty; usage per group per day", async () => {
    store.groups.setSession("family", "sess-1");
    expect(((await (await get("/api/sessions")).json()) as { sessions: unknown[] }).sessions).toHaveLength(1);
    expect((await send("DELETE", "/api/sessions/family", "")).status).toBe(200);
    expect(store.groups.session("family")).toBeNull();
    expect(await (await get("/api/plugins")).json()).toMatchObject({ plugins: [] });
    store.usage.add("family", { inputTokens: 10, outputTokens: 5 }, Date.parse("2026-01-10T12:00:00Z"));
    const usage = (await (await get("/api/usage?since=2026-01-01")).json()) as {
      usage: { inputTokens: number }[];
    };
    expect(usage.usage[0]).toMatchObject({ groupFolder: "family", day: "2026-01-10", inputTokens: 10 });
    expect((await get("/api/usage?since=yesterday")).status).toBe(400);
  });

  test("metrics count bus events", async () => {
    events.emit("message.stored", {
      seq: 1,
      chatJid: "tg:1",
      sender: "a",
      senderName: "A",
      content: "x",
      timestamp: 1,
      isFromMe: false,
      channel: "telegram",
    });
    events.emit("agent.started", {
      groupFolder: "family",
      chatJid: "tg:100",
      containerName: "c1",
      reason: "messages",
    });
    events.emit("agent.finished", {
      groupFolder: "family",
      chatJid: "tg:100",
      containerName: "c1",
      durationMs: 1500,
      status: "success",
    });
    events.emit("task.run", { taskId: "t", groupFolder: "family", status: "error", error: "boom" });
    const text = await (await get("/metrics")).text();
    expect(text).toContain('ngb_messages_in_total{channel="telegram"} 1');
    expect(text).toContain('ngb_agent_runs_total{status="success"} 1');
    expect(text).toContain('ngb_agent_run_duration_seconds_bucket{le="2.5"} 1');
    expect(text).toContain('ngb_task_runs_total{status="error"} 1');
    // Gauges come from the runtime's status, not from counting events.
    expect(text).toContain("ngb_active_containers 0");
  });

  test("openapi document lists the API with schemas from valibot", async () => {
    const doc = (await (await get("/api/openapi.json")).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { properties: object } }> } }>
      >;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/api/groups/{folder}");
    expect(Object.keys(doc.paths)).toContain("/api/messages/search");
    expect(
      doc.paths["/api/groups"]?.post?.requestBody?.content["application/json"]?.schema.properties,
    ).toHaveProperty("folder");
  });
});

describe("dashboard", () => {
  test("the page and its hashed assets are served (gzip when accepted), unknown assets 404", async () => {
    const page = await get("/");
    expect(page.status).toBe(200);
    const html = await page.text();
    const js = /\/assets\/(app-[0-9a-f]+\.js)/.exec(html)?.[1];
    expect(js).toBeDefined();
    const asset = await get(`/assets/${js}`, { ...auth, "accept-encoding": "gzip" });
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-encoding")).toBe("gzip");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect((await get("/assets/..%2Fapp.ts")).status).toBe(404);
    expect((await get(`/assets/${js}`, {})).status).toBe(401);
  });
});

describe("live events", () => {
  test("SSE streams bus events and unsubscribes on disconnect", async () => {
    let subscribers = 0;
    const inner = events;
    events = {
      ...inner,
      onAny(fn) {
        subscribers++;
        const off = inner.onAny(fn);
        return () => {
          subscribers--;
          off();
        };
      },
    };
    make();
    const ac = new AbortController();
    const r = await app.request("/api/events", { headers: auth, signal: ac.signal });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/event-stream");
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    let buf = "";
    const readUntil = async (needle: string) => {
      const deadline = Date.now() + 5000;
      while (!buf.includes(needle)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${needle}; got ${buf}`);
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buf += dec.decode(value);
      }
    };
    await readUntil("event: hello");
    events.emit("agent.started", {
      groupFolder: "family",
      chatJid: "tg:100",
      containerName: "c9",
      reason: "task",
    });
    await readUntil("event: agent.started");
    expect(buf).toContain('"containerName":"c9"');
    expect(subscribers).toBe(1);
    await reader.cancel();
    ac.abort();
    // The next event wakes the writer loop, which notices the client left and unsubscribes.
    events.emit("queue.changed", { active: 0, waiting: 0 });
    await until(() => subscribers === 0, "the stream to unsubscribe");
  });
});
