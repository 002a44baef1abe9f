/**
 * The whole host in-process (`startRuntime`: store, queue, orchestrator, web channel, IPC
 * watcher, scheduler, web app on port 0) with an in-process fake AgentRunner instead of docker:
 * webchat in over HTTP, reply out over the WebSocket, history, proactive send, auth.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import * as v from "valibot";
import { Config } from "../src/config/index.ts";
import { silentLogger } from "../src/log/index.ts";
import { type Runtime, startRuntime } from "../src/runtime/index.ts";
import { openStore } from "../src/store/index.ts";
import { createFakeRunner, type FakeRunner } from "./fakes/agent-runner.ts";
import { createMemoryChannel } from "./fakes/memory-channel.ts";
import { until } from "./support/wait.ts";

let dir: string;
let runtime: Runtime;
let runner: FakeRunner;
const token = "test-token-0123456789abcdef";

let extra: ReturnType<typeof createMemoryChannel> & { webhooks?: Hono };

async function boot() {
  const config = v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
    web: { host: "127.0.0.1", port: 0, token },
    retryBaseMs: 10,
  });
  extra = createMemoryChannel("mem:", "memory");
  const hooks = new Hono();
  hooks.post("/hooks/memory", async (c) => {
    const body = (await c.req.json()) as { text: string };
    await extra.receive("mem:room", body.text);
    return c.json({ ok: true });
  });
  extra.webhooks = hooks;
  runtime = await startRuntime({ config, log: silentLogger(), runner, extraChannels: [extra] });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "ngb-webchat-"));
  runner = createFakeRunner();
  await boot();
});

afterEach(async () => {
  await runtime.stop();
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${token}` };
const post = (path: string, body: unknown, headers: Record<string, string> = auth) =>
  fetch(`${runtime.url}${path}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** Open the chat's WebSocket and collect what it pushes. */
async function openWs(chatId = "default") {
  const ws = new WebSocket(`${runtime.url.replace("http", "ws")}/api/webchat/ws?chatId=${chatId}`, {
    headers: auth,
  } as unknown as string[]);
  const events: Record<string, unknown>[] = [];
  ws.onmessage = (e) => events.push(JSON.parse(String(e.data)));
  await until(() => events.some((e) => e.type === "ready"), { what: "ws ready" });
  return { ws, events };
}

describe("webchat through the real runtime", () => {
  test("first start registers web:default as main; a posted message gets a reply over the WebSocket", async () => {
    const { ws, events } = await openWs();
    const res = await post("/api/webchat/messages", { text: "hello <agent>" });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ chatJid: "web:default", registered: true });
    const reply = await until(() => events.find((e) => e.type === "message" && e.from === "assistant"), {
      what: "assistant reply",
    });
    expect(reply.text).toContain("hello &lt;agent&gt;</message>");
    expect(events.find((e) => e.type === "message" && e.from === "user")).toMatchObject({
      text: "hello <agent>",
    });
    expect(events.some((e) => e.type === "typing" && e.on === true)).toBe(true);
    expect(runner.starts[0]!.input).toMatchObject({
      groupFolder: "main",
      isMain: true,
      chatJid: "web:default",
    });
    ws.close();

    const hist = await fetch(`${runtime.url}/api/webchat/messages?chatId=default&after=0`, { headers: auth });
    const body = (await hist.json()) as { messages: { from: string; seq: number }[] };
    expect(body.messages.map((m) => m.from)).toEqual(["user", "assistant"]);
    const after = await fetch(`${runtime.url}/api/webchat/messages?after=${body.messages[0]!.seq}`, {
      headers: auth,
    });
    expect(((await after.json()) as { messages: unknown[] }).messages).toHaveLength(1);
  });

  test("a platform channel's webhook is served without the token; its group is answered through it", async () => {
    const store = openStore(join(dir, "store", "ngb.db"));
    store.groups.add({
      jid: "mem:room",
      name: "room",
      folder: "room",
      triggerPattern: null,
      requiresTrigger: true,
      isMain: false,
      containerConfig: null,
    });
    store.close();
    const res = await fetch(`${runtime.url}/hooks/memory`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "@Andy via webhook" }),
    });
    expect(res.status).toBe(200);
    const [sent] = await extra.waitForSent(1);
    expect(sent).toMatchObject({ jid: "mem:room" });
    expect(sent!.text).toContain("via webhook");
    // Everything else still needs the token.
    expect((await fetch(`${runtime.url}/api/webchat/messages`)).status).toBe(401);
  });

  test("an unregistered web chat is stored but not answered", async () => {
    const res = await post("/api/webchat/messages", { chatId: "side", text: "anyone?" });
    expect(await res.json()).toMatchObject({ chatJid: "web:side", registered: false });
    // Witness: a message to the registered chat, sent after it, is answered; a run for the
    // unregistered chat would have been queued first and started before this one.
    const { ws, events } = await openWs();
    await post("/api/webchat/messages", { text: "and you?" });
    await until(() => events.find((e) => e.type === "message" && e.from === "assistant"), "the reply");
    ws.close();
    expect(runner.starts.map((s) => s.input.chatJid)).toEqual(["web:default"]);
  });

  test("bad input: 400 with the reason; no token: 401", async () => {
    const r1 = await post("/api/webchat/messages", { text: "" });
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { message: string }).message).toContain("text must not be empty");
    const r2 = await post("/api/webchat/messages", { chatId: "../x", text: "hi" });
    expect(r2.status).toBe(400);
    const r3 = await post("/api/webchat/messages", { text: "hi" }, {});
    expect(r3.status).toBe(401);
    const r4 = await fetch(`${runtime.url}/api/webchat/messages?after=-1`, { headers: auth });
    expect(r4.status).toBe(400);
  });

  test("POST /api/send delivers through the owning channel; 404 when none owns the jid", async () => {
    const { events } = await openWs();
    const ok = await post("/api/send", { jid: "web:default", text: "proactive hello" });
    expect(ok.status).toBe(201);
    await until(() => events.find((e) => e.type === "message" && e.text === "proactive hello"));
    const none = await post("/api/send", { jid: "tg:123", text: "x" });
    expect(none.status).toBe(404);
    expect(((await none.json()) as { message: string }).message).toContain(
      'no connected channel owns chat "tg:123"',
    );
  });

  test("an agent's send_message request reaches the webchat, before the turn's answer", async () => {
    const { events } = await openWs();
    const answers: string[] = [];
    runner.setRespond(() => [
      {
        request: { type: "message", chatJid: "web:default", text: "from a tool" },
        onReply: (r) => answers.push(r.text),
      },
      { status: "success", result: "and the answer" },
    ]);
    expect((await post("/api/webchat/messages", { text: "use the tool" })).status).toBe(201);
    await until(() => events.find((e) => e.type === "message" && e.text === "and the answer"), {
      what: "the turn's answer",
    });
    const texts = events.filter((e) => e.type === "message" && e.from === "assistant").map((e) => e.text);
    expect(texts.indexOf("from a tool")).toBeGreaterThanOrEqual(0);
    expect(texts.indexOf("from a tool")).toBeLessThan(texts.indexOf("and the answer"));
    expect(answers).toEqual(["Message to web:default sent."]);
  });

  test("restart: messages stored while down are answered once at start-up", async () => {
    await runtime.stop();
    const store = openStore(join(dir, "store", "ngb.db"));
    store.messages.insert({
      id: "offline-1",
      chatJid: "web:default",
      sender: "u",
      senderName: "U",
      content: "sent while down",
      timestamp: Date.now(),
    });
    store.close();
    runner = createFakeRunner();
    await boot();
    const store2 = openStore(join(dir, "store", "ngb.db"), { readonly: true });
    try {
      await until(() => store2.messages.since("web:default", 0).some((m) => m.isBot), {
        what: "reply stored",
      });
      expect(runner.starts).toHaveLength(1);
      expect(runner.starts[0]!.input.prompt).toContain("sent while down");
    } finally {
      store2.close();
    }
  });
});
