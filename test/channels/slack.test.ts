/**
 * The Slack adapter against the fake Slack (Socket Mode + Web API on 127.0.0.1): receive →
 * stored → reply arrives, acks only after the store has it, reconnects without loss or
 * duplicates, honours Retry-After, ignores bad payloads with a log line, threads.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { silentLogger } from "../../src/log/index.ts";
import type { Channel } from "../../src/orchestrator/channel.ts";
import { SlackApiError } from "../../src/channels/slack/api.ts";
import { createSlackChannel } from "../../src/channels/slack/channel.ts";
import { createFakeSlack, type FakeSlack, slackTs } from "../fakes/slack.ts";
import { capturingLogger, createStoreSink, type StoreSink, storedIds, waitFor } from "./support.ts";
import type { Logger } from "../../src/log/index.ts";

let fake: FakeSlack;
let sink: StoreSink;
let channel: Channel | null = null;

afterEach(async () => {
  await channel?.disconnect();
  channel = null;
  await fake?.stop();
  sink?.close();
});

/**
 * A TCP relay on 127.0.0.1:0 that can freeze: data stops flowing both ways while both TCP
 * connections stay open (a half-open link after a NAT timeout or a laptop sleep).
 */
function freezingProxy(upstreamPort: number) {
  let frozen = false;
  const pairs = new Set<{ client: Bun.Socket<{ up?: Bun.Socket }>; up: Bun.Socket }>();
  const server = Bun.listen<{ up?: Bun.Socket; pending: Uint8Array[] }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        client.data = { pending: [] };
        const up = await Bun.connect({
          hostname: "127.0.0.1",
          port: upstreamPort,
          socket: {
            data(_s, d) {
              if (!frozen) client.write(d);
            },
            close() {
              client.end();
            },
          },
        });
        client.data.up = up;
        pairs.add({ client, up });
        for (const d of client.data.pending) up.write(d);
      },
      data(client, d) {
        if (frozen) return;
        if (client.data.up) client.data.up.write(d);
        else client.data.pending.push(new Uint8Array(d));
      },
      close(client) {
        client.data.up?.end();
      },
    },
  });
  return {
    port: server.port,
    freeze() {
      frozen = true;
    },
    stop() {
      for (const p of pairs) {
        p.client.end();
        p.up.end();
      }
      server.stop(true);
    },
  };
}

function setup(opts: { ackTimeoutMs?: number; log?: Logger; pingIntervalMs?: number } = {}) {
  fake = createFakeSlack({ ackTimeoutMs: opts.ackTimeoutMs ?? 2_000 });
  sink = createStoreSink("ngb-slack-", "slack");
  channel = createSlackChannel({
    apiBaseUrl: fake.apiBaseUrl,
    botToken: fake.botToken,
    appToken: fake.appToken,
    assistantName: "Andy",
    log: opts.log ?? silentLogger(),
    backoff: { initialMs: 20, maxMs: 200 },
    ...(opts.pingIntervalMs ? { pingIntervalMs: opts.pingIntervalMs } : {}),
  });
  return channel;
}

const JID = "slack:C0GENERAL";

describe("slack channel", () => {
  test("receive → stored (after which the envelope is acked) → reply arrives at the fake", async () => {
    const ch = setup();
    await ch.connect(sink);
    expect(ch.health().state).toBe("connected");
    const ts = slackTs();
    const envelope = fake.pushEvent(
      fake.message({ channel: "C0GENERAL", text: `<@${fake.botUserId}> what's up &amp; how?`, ts }),
    );
    await waitFor(() => fake.acks.includes(envelope), "ack");
    // Acked only after the store had it: by now the row must exist.
    const [stored] = sink.store.messages.since(JID, 0);
    expect(stored).toMatchObject({
      id: ts,
      chatJid: JID,
      sender: "U0HUMAN1",
      senderName: "Alice",
      content: "@Andy what's up & how?",
      mentionsBot: true,
      isFromMe: false,
    });
    // A minimal "orchestrator": reply to what was stored.
    await ch.send(JID, "all good");
    expect(fake.posted).toEqual([expect.objectContaining({ channel: "C0GENERAL", text: "all good" })]);
    // Slack echoes our own post back as a message event: acked, but not stored a second time
    // (the delivery layer stores replies itself).
    await fake.waitFor(() => fake.pendingCount === 0 && fake.acks.length === 2, 5_000, "echo acked");
    expect(storedIds(sink.store, JID)).toEqual([ts]);
  });

  test("a post by our bot user that is not an echo of this process is stored as from-me, never a mention", async () => {
    const ch = setup();
    await ch.connect(sink);
    const ts = slackTs();
    const env = fake.pushEvent({
      type: "message",
      channel: "C0GENERAL",
      user: fake.botUserId,
      bot_id: fake.botId,
      text: `earlier reply mentioning <@${fake.botUserId}>`,
      ts,
    });
    await waitFor(() => fake.acks.includes(env), "ack");
    const [m] = sink.store.messages.since(JID, 0);
    expect(m).toMatchObject({ id: ts, isFromMe: true, isBot: true, mentionsBot: false, senderName: "Andy" });
  });

  test("the same ts via message and app_mention is stored once", async () => {
    const ch = setup();
    await ch.connect(sink);
    const ts = slackTs();
    const text = `<@${fake.botUserId}> hello`;
    fake.pushEvent(fake.message({ channel: "C0GENERAL", text, ts }));
    const e2 = fake.pushEvent({ type: "app_mention", channel: "C0GENERAL", user: "U0HUMAN1", text, ts });
    await waitFor(() => fake.acks.includes(e2), "both acked");
    expect(storedIds(sink.store, JID)).toEqual([ts]);
  });

  test("an envelope whose store insert failed is not acked, redelivered, and stored once", async () => {
    const ch = setup({ ackTimeoutMs: 100 });
    await ch.connect(sink);
    sink.failNext(1);
    const ts = slackTs();
    const env = fake.pushEvent(fake.message({ channel: "C0GENERAL", text: "hi", ts }));
    await waitFor(() => fake.acks.includes(env), "ack after redelivery");
    expect(sink.inboundCalls.length).toBeGreaterThanOrEqual(2);
    expect(storedIds(sink.store, JID)).toEqual([ts]);
  });

  test("thread messages carry thread_ts and replies go to the thread", async () => {
    const ch = setup();
    await ch.connect(sink);
    const parent = slackTs();
    const ts = slackTs();
    const env = fake.pushEvent(
      fake.message({ channel: "C0GENERAL", text: "in thread", ts, thread_ts: parent }),
    );
    await waitFor(() => fake.acks.includes(env), "ack");
    const stored = sink.store.messages.since(JID, 0)[0]!;
    expect(stored.threadId).toBe(parent);
    await ch.send(JID, "threaded reply", { threadId: stored.threadId! });
    expect(fake.posted[0]).toMatchObject({ channel: "C0GENERAL", text: "threaded reply", thread_ts: parent });
    // A reply to a top-level message starts a thread under it.
    await ch.send(JID, "reply to it", { replyToId: ts });
    expect(fake.posted[1]).toMatchObject({ text: "reply to it", thread_ts: ts });
    await ch.send(JID, "plain");
    expect(fake.posted[2]!.thread_ts).toBeUndefined();
  });

  test("long replies are split at 4000 characters, code blocks intact", async () => {
    const ch = setup();
    await ch.connect(sink);
    const para = "word ".repeat(700).trim(); // 3,499 chars
    const code = "```ts\n" + "const x = 1;\n".repeat(100) + "```";
    await ch.send(JID, `${para}\n\n${para}\n\n${code}`);
    expect(fake.posted.length).toBe(3);
    for (const p of fake.posted) expect(p.text.length).toBeLessThanOrEqual(4000);
    expect(fake.posted[2]!.text).toBe(code);
    expect(fake.calls.filter((c) => c.method === "chat.postMessage" && c.status !== 200)).toEqual([]);
  });

  test("429 Retry-After is honoured before retrying", async () => {
    const ch = setup();
    await ch.connect(sink);
    fake.rateLimit("chat.postMessage", 1);
    const started = Date.now();
    await ch.send(JID, "after the limit");
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.calls.filter((c) => c.method === "chat.postMessage").map((c) => c.status)).toEqual([
      429, 200,
    ]);
    expect(fake.posted.map((p) => p.text)).toEqual(["after the limit"]);
  });

  test("ok:false is a clear 'platform said no' error", async () => {
    const ch = setup();
    await ch.connect(sink);
    fake.notInChannel.add("C0SECRET");
    const err = await ch.send("slack:C0SECRET", "hi").catch((e) => e);
    expect(err).toBeInstanceOf(SlackApiError);
    expect((err as SlackApiError).code).toBe("not_in_channel");
    expect((err as Error).message).toContain("/invite");
  });

  test("a socket dropped mid-stream: reconnects, no message lost or duplicated", async () => {
    const ch = setup({ ackTimeoutMs: 300 });
    await ch.connect(sink);
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      const ts = slackTs();
      sent.push(ts);
      fake.pushEvent(fake.message({ channel: "C0GENERAL", text: `m${i}`, ts }));
      if (i === 20) fake.dropSockets();
    }
    await waitFor(() => fake.connectionCount >= 2 && fake.pendingCount === 0, "all acked after reconnect");
    expect(storedIds(sink.store, JID).sort()).toEqual([...sent].sort());
    expect(ch.health().state).toBe("connected");
    expect(sink.statuses.some((s) => s.state === "connecting" && s.error)).toBe(true);
  });

  test("a silent (half-open) socket is detected by ping and replaced; nothing is lost", async () => {
    const ch = setup({ ackTimeoutMs: 200, pingIntervalMs: 50 });
    const proxy = freezingProxy(Number(new URL(fake.apiBaseUrl).port));
    try {
      fake.linkBaseUrl = `ws://127.0.0.1:${proxy.port}`;
      await ch.connect(sink);
      fake.linkBaseUrl = fake.apiBaseUrl.replace("http:", "ws:").replace(/\/api$/, "");
      proxy.freeze();
      const ts = slackTs();
      fake.pushEvent(fake.message({ channel: "C0GENERAL", text: "sent into the void", ts }));
      await waitFor(() => fake.connectionCount === 2, "a new connection after the zombie was dropped");
      await waitFor(() => storedIds(sink.store, JID).includes(ts), "redelivered on the new socket");
      expect(storedIds(sink.store, JID)).toEqual([ts]);
      expect(ch.health().state).toBe("connected");
    } finally {
      proxy.stop();
    }
  });

  test("disconnect refresh_requested: new socket first, then the old one closes", async () => {
    const ch = setup();
    await ch.connect(sink);
    fake.sendDisconnect("refresh_requested");
    await waitFor(() => fake.connectionCount === 2 && fake.openSockets === 1, "replaced");
    const ts = slackTs();
    const env = fake.pushEvent(fake.message({ channel: "C0GENERAL", text: "after refresh", ts }));
    await waitFor(() => fake.acks.includes(env), "ack on the new socket");
    expect(storedIds(sink.store, JID)).toEqual([ts]);
  });

  test("disconnect link_disabled stops with a clear error", async () => {
    const ch = setup();
    await ch.connect(sink);
    fake.sendDisconnect("link_disabled");
    await waitFor(() => ch.health().state === "error", "error state");
    expect(ch.health().lastError).toContain("Socket Mode");
    await waitFor(() => fake.openSockets === 0, "socket closed");
    expect(fake.connectionCount).toBe(1);
  });

  test("bad payloads are ignored with a log line; the stream keeps going", async () => {
    const cap = capturingLogger();
    const ch = setup({ log: cap.log });
    await ch.connect(sink);
    fake.pushRaw("{not json");
    const bad = fake.pushEvent({ type: "message", channel: "C0GENERAL", text: "no ts" });
    const edited = fake.pushEvent({
      type: "message",
      subtype: "message_changed",
      channel: "C0GENERAL",
      ts: slackTs(),
      message: { text: "edited" },
    });
    const ts = slackTs();
    const good = fake.pushEvent(fake.message({ channel: "C0GENERAL", text: "fine", ts }));
    await waitFor(() => [bad, edited, good].every((e) => fake.acks.includes(e)), "all acked");
    expect(storedIds(sink.store, JID)).toEqual([ts]);
    const warnings = cap.warnings().join("\n");
    expect(warnings).toContain("not JSON");
    expect(warnings).toContain("bad message event (ts:");
  });

  test("the bot joining a channel makes it discovered", async () => {
    const ch = setup();
    await ch.connect(sink);
    const env = fake.pushEvent({
      type: "member_joined_channel",
      user: fake.botUserId,
      channel: "C0NEWCHAN",
      channel_type: "C",
      team: "T0TEAM01",
    });
    fake.pushEvent({ type: "member_joined_channel", user: "U0OTHER", channel: "C0OTHER", channel_type: "C" });
    await waitFor(() => fake.acks.includes(env) && fake.pendingCount === 0, "acked");
    expect(sink.discoveredChats).toEqual([{ jid: "slack:C0NEWCHAN", isGroup: true }]);
    expect(sink.store.messages.chat("slack:C0NEWCHAN")?.channel).toBe("slack");
  });

  test("wrong credentials: connect throws a SlackApiError naming the fix; verify says so", async () => {
    fake = createFakeSlack();
    sink = createStoreSink("ngb-slack-", "slack");
    channel = createSlackChannel({
      apiBaseUrl: fake.apiBaseUrl,
      botToken: "xoxb-wrong",
      appToken: fake.appToken,
      assistantName: "Andy",
      log: silentLogger(),
    });
    const err = await channel.connect(sink).catch((e) => e);
    expect(err).toBeInstanceOf(SlackApiError);
    expect((err as Error).message).toContain("invalid_auth");
    expect(channel.health().state).toBe("error");
    const v = await channel.verify!();
    expect(v.ok).toBe(false);
    expect(v.detail).toContain("botToken");
    expect(JSON.stringify(v)).not.toContain("xoxb-wrong");
  });

  test("verify() reports the bot identity", async () => {
    const ch = setup();
    const v = await ch.verify!();
    expect(v).toEqual({ ok: true, detail: expect.stringContaining(fake.botUserId) });
  });

  test("a network failure at start: keeps retrying until the server is reachable", async () => {
    fake = createFakeSlack();
    sink = createStoreSink("ngb-slack-", "slack");
    let reachable = false;
    const flaky: typeof fetch = Object.assign(
      (input: string | URL | Request, init?: RequestInit) =>
        reachable ? fetch(input, init) : Promise.reject(new TypeError("connect ECONNREFUSED")),
      { preconnect: fetch.preconnect },
    );
    channel = createSlackChannel({
      apiBaseUrl: fake.apiBaseUrl,
      botToken: fake.botToken,
      appToken: fake.appToken,
      assistantName: "Andy",
      log: silentLogger(),
      fetch: flaky,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    await channel.connect(sink);
    expect(channel.health().state).toBe("connecting");
    expect(channel.health().lastError).toContain("ECONNREFUSED");
    reachable = true;
    await waitFor(() => channel!.health().state === "connected", "connected");
    expect(fake.connectionCount).toBe(1);
  });
});

describe("slack web api as Slack documents it (issue 19)", () => {
  test("read methods go form-encoded, write methods JSON, the token always in the Authorization header", async () => {
    const ch = setup();
    await ch.connect(sink);
    fake.pushEvent(fake.message({ channel: "C0GENERAL", text: "hello", ts: slackTs() }));
    await waitFor(() => sink.store.messages.count() === 1, "stored");
    await ch.send(JID, "a reply");
    const byMethod = (m: string) => fake.calls.filter((c) => c.method === m);
    for (const m of ["auth.test", "apps.connections.open", "users.info"]) {
      expect(byMethod(m).length).toBeGreaterThan(0);
      for (const c of byMethod(m)) expect(c.contentType).toStartWith("application/x-www-form-urlencoded");
    }
    for (const c of byMethod("chat.postMessage")) expect(c.contentType).toStartWith("application/json");
    expect(fake.calls.every((c) => c.tokenInHeader && !c.ignoredJsonBody)).toBe(true);
    expect(sink.store.messages.since(JID, 0)[0]!.senderName).toBe("Alice");
  });

  test("the fake refuses what Slack would: a JSON body on users.info is ignored, so `user` is missing", async () => {
    fake = createFakeSlack();
    const res = await fetch(`${fake.apiBaseUrl}/users.info`, {
      method: "POST",
      headers: { authorization: `Bearer ${fake.botToken}`, "content-type": "application/json" },
      body: JSON.stringify({ user: "U0HUMAN1" }),
    });
    expect(await res.json()).toMatchObject({ ok: false, error: "invalid_arguments" });
    expect(fake.calls.at(-1)).toMatchObject({ method: "users.info", ignoredJsonBody: true });
    const form = await fetch(`${fake.apiBaseUrl}/users.info?user=U0HUMAN1`, {
      method: "POST",
      headers: { authorization: `Bearer ${fake.botToken}` },
    });
    expect(await form.json()).toMatchObject({ ok: true, user: { profile: { display_name: "Alice" } } });
  });

  test("a failed name lookup is logged once per user and the id is shown", async () => {
    const logger = capturingLogger();
    const ch = setup({ log: logger.log });
    await ch.connect(sink);
    for (let i = 0; i < 3; i++)
      fake.pushEvent(fake.message({ channel: "C0GENERAL", text: `n${i}`, user: "U0GHOST1", ts: slackTs() }));
    fake.pushEvent(fake.message({ channel: "C0GENERAL", text: "x", user: "U0GHOST2", ts: slackTs() }));
    await waitFor(() => sink.store.messages.count() === 4, "stored");
    const lines = logger.warnings().filter((w) => w.includes("sender name lookup failed"));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain("U0GHOST1");
    expect(lines[0]).toContain("user_not_found");
    expect(lines.join("\n")).not.toContain(fake.botToken);
    expect(sink.store.messages.since(JID, 0).map((m) => m.senderName)).toEqual([
      "U0GHOST1",
      "U0GHOST1",
      "U0GHOST1",
      "U0GHOST2",
    ]);
    // Refusals are cached: one users.info per unknown user, not one per message.
    expect(fake.calls.filter((c) => c.method === "users.info")).toHaveLength(2);
  });

  test("threads: a reply to a top-level message goes in a thread under it by default, not in DMs, configurable", async () => {
    const ch = setup();
    await ch.send(JID, "threaded", { replyToId: "1700000000.000100" });
    await ch.send("slack:D0DIRECT", "dm reply", { replyToId: "1700000000.000200" });
    expect(fake.posted[0]).toMatchObject({ channel: "C0GENERAL", thread_ts: "1700000000.000100" });
    expect(fake.posted[1]!.thread_ts).toBeUndefined();

    const flat = createSlackChannel({
      apiBaseUrl: fake.apiBaseUrl,
      botToken: fake.botToken,
      appToken: fake.appToken,
      assistantName: "Andy",
      log: silentLogger(),
      replyInThread: false,
      threadChannels: { C0THREADS: true, D0DIRECT: true },
    });
    await flat.send(JID, "top level", { replyToId: "1700000000.000300" });
    await flat.send("slack:C0THREADS", "threaded here", { replyToId: "1700000000.000400" });
    await flat.send("slack:D0DIRECT", "dm threaded", { replyToId: "1700000000.000500" });
    // Inside a thread is always inside the thread.
    await flat.send(JID, "in its thread", { threadId: "1700000000.000600", replyToId: "1700000000.000601" });
    expect(fake.posted.slice(2).map((p) => p.thread_ts)).toEqual([
      undefined,
      "1700000000.000400",
      "1700000000.000500",
      "1700000000.000600",
    ]);
  });

  test("a partly sent reply resumes at fromChunk and reports each chunk", async () => {
    const ch = setup();
    const text = Array.from({ length: 3 }, (_, i) => `${i} ${"z".repeat(3900)}`).join("\n\n");
    const done: number[] = [];
    await ch.send(JID, text, { fromChunk: 1, onChunkSent: (i) => done.push(i) });
    expect(done).toEqual([1, 2]);
    expect(fake.posted.map((p) => p.text.slice(0, 1))).toEqual(["1", "2"]);
  });
});
