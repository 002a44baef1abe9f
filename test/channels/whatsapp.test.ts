/**
 * The WhatsApp adapter. Three layers, because a full handshake with a fake WhatsApp server is
 * not feasible (Noise XX + Signal, keys only WhatsApp holds):
 * 1. real baileys against a local WebSocket (`waWebSocketUrl`): it dials the URL, speaks the
 *    first Noise frame, reports connecting / errors and backs off when the server hangs up;
 * 2. the connection state machine and message flow with a fake baileys socket (QR, open,
 *    logout → auth cleared, replaced, restart, pairing code, upsert → store, send, typing);
 * 3. lazy loading: the registry and other channels never load baileys.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createWhatsAppChannel, WA_CLOSE } from "../../src/channels/whatsapp/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { Channel } from "../../src/orchestrator/channel.ts";
import * as ev from "../fakes/whatsapp-events.ts";
import { capturingLogger, createStoreSink, type StoreSink, storedIds, waitFor } from "./support.ts";

let dir: string;
let sink: StoreSink;
let channel: Channel | null = null;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  await channel?.disconnect();
  channel = null;
  for (const c of cleanups.splice(0)) await c();
});

/** A temp dir and a store sink, both cleaned up after the test. */
function fresh() {
  const d = mkdtempSync(join(tmpdir(), "ngb-wa-"));
  const k = createStoreSink("ngb-wa-store-", "whatsapp");
  cleanups.push(
    () => k.close(),
    () => rmSync(d, { recursive: true, force: true }),
  );
  dir = d;
  sink = k;
}

function setup(extra: Partial<Parameters<typeof createWhatsAppChannel>[0]> = {}) {
  fresh();
  const fake = ev.createFakeBaileys();
  const printed: string[] = [];
  channel = createWhatsAppChannel({
    authDir: join(dir, "whatsapp-auth"),
    assistantName: "Andy",
    log: silentLogger(),
    backoff: { initialMs: 10, maxMs: 50 },
    print: (t) => printed.push(t),
    baileys: async () => fake.api,
    ...extra,
  });
  return { ch: channel, fake, printed, authDir: join(dir, "whatsapp-auth") };
}

describe("whatsapp adapter (fake baileys socket)", () => {
  test("QR → dashboard + terminal; open → connected; upsert → stored; reply and typing go out", async () => {
    const { ch, fake, printed } = setup();
    await ch.connect(sink);
    const s = fake.latest();
    s.emit("connection.update", { qr: "2@fakeQrRef,abc,def,ghi" });
    await waitFor(() => ch.health().qr === "2@fakeQrRef,abc,def,ghi", "qr in health");
    expect(sink.statuses.some((u) => u.qr === "2@fakeQrRef,abc,def,ghi")).toBe(true);
    await waitFor(() => printed.length >= 2, "qr printed");
    expect(printed[1]).toContain("▄"); // rendered blocks, not the raw string
    s.open();
    expect(ch.health().state).toBe("connected");
    expect(ch.health().qr).toBeUndefined();

    s.emit("messages.upsert", {
      type: "notify",
      messages: [ev.groupText, ev.extendedWithMention, ev.reaction, ev.protocolRevoke],
    });
    s.emit("messages.upsert", { type: "append", messages: [ev.fromMe] });
    await waitFor(() => storedIds(sink.store, ev.GROUP).length === 3, "3 stored");
    const stored = sink.store.messages.since(ev.GROUP, 0);
    expect(stored.map((m) => [m.id, m.mentionsBot, m.isFromMe])).toEqual([
      ["3EB0A1B2C3D4E5F60004", false, false],
      ["3EB0A1B2C3D4E5F60002", true, false],
      ["3EB0A1B2C3D4E5F60005", false, true],
    ]);

    await ch.setTyping!(ev.GROUP, true);
    await ch.send(ev.GROUP, `${"a".repeat(4000)}\n\n${"b".repeat(200)}`);
    await ch.setTyping!(ev.GROUP, false);
    expect(s.sent.map((m) => [m.jid, m.text.length])).toEqual([
      [ev.GROUP, 4000],
      [ev.GROUP, 200],
    ]);
    expect(s.presence).toEqual([
      { type: "composing", jid: ev.GROUP },
      { type: "paused", jid: ev.GROUP },
    ]);
  });

  test("bad upsert payloads are ignored with a log line; later messages still stored", async () => {
    const cap = capturingLogger();
    const { ch, fake } = setup({ log: cap.log });
    await ch.connect(sink);
    const s = fake.latest();
    s.open();
    s.emit("messages.upsert", { type: "notify", messages: "not an array" });
    s.emit("messages.upsert", { type: "notify", messages: [null, { key: {} }, ev.textDm] });
    await waitFor(() => storedIds(sink.store, ev.ALICE).length === 1, "good message stored");
    expect(cap.warnings().join("\n")).toContain("without a messages array");
    expect(ch.health().state).toBe("connected");
  });

  test("groups.upsert and being added to a group → discovered", async () => {
    const { ch, fake } = setup();
    await ch.connect(sink);
    const s = fake.latest();
    s.open();
    s.emit("groups.upsert", ev.groupsUpsert);
    s.emit("group-participants.update", ev.participantsAddedMe);
    s.emit("group-participants.update", ev.participantsAddedOther);
    expect(sink.discoveredChats.map((c) => c.jid)).toEqual([ev.GROUP, "120363049999999999@g.us"]);
    expect(sink.store.messages.chat(ev.GROUP)?.name).toBe("Project chat");
  });

  test("logged out: auth state cleared, clear error, no reconnect; next connect gives a new QR", async () => {
    const { ch, fake, authDir } = setup();
    await ch.connect(sink);
    fake.latest().open();
    expect(existsSync(join(authDir, "creds.json"))).toBe(true);
    fake.latest().close(WA_CLOSE.loggedOut, "Intentional Logout");
    await waitFor(() => ch.health().state === "error", "error state");
    expect(ch.health().lastError).toContain("logged out: re-pair with QR");
    expect(existsSync(authDir)).toBe(false);
    expect(fake.sockets.length).toBe(1);
    await ch.connect(sink);
    expect(fake.sockets.length).toBe(2);
    fake.latest().emit("connection.update", { qr: "2@newQr" });
    await waitFor(() => ch.health().qr === "2@newQr", "new qr");
  });

  test("connection lost → reconnect with backoff; restartRequired → at once", async () => {
    const { ch, fake } = setup();
    await ch.connect(sink);
    fake.latest().open();
    fake.latest().close(WA_CLOSE.connectionLost, "Connection was lost");
    await waitFor(() => fake.sockets.length === 2, "second socket");
    expect(sink.statuses.some((u) => u.state === "connecting" && u.error?.includes("408"))).toBe(true);
    fake.latest().close(WA_CLOSE.restartRequired, "Restart Required");
    await waitFor(() => fake.sockets.length === 3, "third socket");
    fake.latest().open();
    expect(ch.health().state).toBe("connected");
  });

  test("connection replaced: stops with an error instead of fighting the other client", async () => {
    const { ch, fake } = setup();
    await ch.connect(sink);
    fake.latest().open();
    fake.latest().close(WA_CLOSE.connectionReplaced, "Connection Replaced");
    await waitFor(() => ch.health().state === "error", "error");
    expect(ch.health().lastError).toContain("connection replaced");
    expect(fake.sockets.length).toBe(1);
  });

  test("pairing code instead of QR when pairingPhone is set", async () => {
    const { ch, fake, printed } = setup({ pairingPhone: "+1 555 000 1111" });
    await ch.connect(sink);
    fake.latest().emit("connection.update", { qr: "2@ignored" });
    await waitFor(() => printed.some((p) => p.includes("ABCD-EFGH")), "pairing code printed");
    expect(fake.latest().pairingRequests).toEqual(["15550001111"]);
  });

  test("send while not connected is a clear error; verify reads the auth state", async () => {
    const { ch } = setup();
    const err = await ch.send(ev.ALICE, "hi").catch((e) => e);
    expect((err as Error).message).toContain("not connected");
    const v = await ch.verify!();
    expect(v.ok).toBe(false);
    expect(v.detail).toContain("not paired");
  });
});

describe("whatsapp sends once and knows its own posts (issues 9, 20)", () => {
  test("each chunk's message id comes from the reply's key: a re-send after a crash is delivered once", async () => {
    const { ch, fake } = setup();
    await ch.connect(sink);
    const sock = fake.latest();
    sock.open();
    const text = Array.from({ length: 2 }, (_, i) => `${i} ${"w".repeat(4000)}`).join("\n\n");
    await ch.send(ev.ALICE, text, { idempotencyKey: "reply:main:7" });
    expect(sock.sent).toHaveLength(2);
    for (const m of sock.sent) expect(m.messageId).toMatch(/^3EB0[0-9A-F]{18}$/);
    expect(sock.sent[0]!.messageId).not.toBe(sock.sent[1]!.messageId);
    // The same reply again (the process died before recording it): same ids, nothing new delivered.
    await ch.send(ev.ALICE, text, { idempotencyKey: "reply:main:7" });
    expect(sock.sent).toHaveLength(2);
    expect(sock.duplicates).toHaveLength(2);
    expect(ch.dedupesSends).toBe(true);
    // Resuming at a chunk sends only the rest.
    const done: number[] = [];
    await ch.send(ev.ALICE, text, {
      idempotencyKey: "reply:main:8",
      fromChunk: 1,
      onChunkSent: (i) => done.push(i),
    });
    expect(done).toEqual([1]);
    expect(sock.sent).toHaveLength(3);
  });

  test("a message from this account (another device) is ours: isFromMe and isBot", async () => {
    const { ch, fake } = setup();
    await ch.connect(sink);
    const sock = fake.latest();
    sock.open();
    sock.emit("messages.upsert", { type: "notify", messages: [ev.fromMe] });
    await waitFor(() => sink.store.messages.count() === 1, "stored");
    const [m] = sink.store.messages.since(ev.fromMe.key.remoteJid!, 0);
    expect(m).toMatchObject({ isFromMe: true, isBot: true });
  });
});

describe("whatsapp adapter (real baileys, local WebSocket)", () => {
  test("dials waWebSocketUrl, reports connecting/errors and backs off when the server hangs up", async () => {
    const frames: Uint8Array[] = [];
    let connections = 0;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req, srv) {
        if (new URL(req.url).pathname === "/ws/chat" && srv.upgrade(req)) return undefined;
        return new Response("no", { status: 404 });
      },
      websocket: {
        open() {
          connections++;
        },
        message(ws, data) {
          frames.push(typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data));
          ws.close(1011, "fake server: no Noise handshake here");
        },
      },
    });
    cleanups.push(() => server.stop(true));
    fresh();
    channel = createWhatsAppChannel({
      authDir: join(dir, "whatsapp-auth"),
      assistantName: "Andy",
      log: silentLogger(),
      waWebSocketUrl: `ws://127.0.0.1:${server.port}/ws/chat`,
      backoff: { initialMs: 20, maxMs: 100 },
      connectTimeoutMs: 5_000,
      print: () => {},
    });
    await channel.connect(sink);
    await waitFor(() => connections >= 2, "a reconnect after the server hung up", 20_000);
    // The client hello starts with WhatsApp's Noise header "WA" + protocol version.
    expect(frames[0]?.[0]).toBe(0x57);
    expect(frames[0]?.[1]).toBe(0x41);
    expect(sink.statuses[0]?.state).toBe("connecting");
    expect(sink.statuses.some((s) => s.state === "connecting" && s.error)).toBe(true);
    expect(channel.health().state).not.toBe("connected");
    expect(existsSync(join(dir, "whatsapp-auth"))).toBe(true);
  });
});

describe("whatsapp lazy loading", () => {
  test("the registry and other channels never load baileys; connect() does", async () => {
    const script = `
      const loaded = () => Object.keys(require.cache).filter((k) => k.includes("/node_modules/baileys/")).length;
      const { channelDefinition, createChannel } = await import("./src/channels/index.ts");
      const { Config } = await import("./src/config/index.ts");
      const v = await import("valibot");
      const { silentLogger } = await import("./src/log/index.ts");
      const config = v.parse(Config, { storeDir: "/nonexistent-ngb-store" });
      const log = silentLogger();
      await createChannel(channelDefinition("slack"), { config, log });
      await createChannel(channelDefinition("whatsapp"), { config, log });
      const before = loaded();
      const { loadBaileys } = await import("./src/channels/whatsapp/channel.ts");
      await loadBaileys();
      console.log(JSON.stringify({ before, after: loaded() }));
    `;
    const root = resolve(import.meta.dir, "../..");
    const proc = Bun.spawn([process.execPath, "-e", script], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const [out, errText, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    expect(errText.trim() === "" || code === 0 ? "" : errText).toBe("");
    const result = JSON.parse(out.trim().split("\n").at(-1)!) as { before: number; after: number };
    expect(result.before).toBe(0);
    expect(result.after).toBeGreaterThan(10);
  });
});
