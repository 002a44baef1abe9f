/**
 * Feishu HTTP event subscription: the fake platform posts (encrypted, signed) events and the
 * URL-verification challenge to the channel's webhook route served like the web server does.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createFeishuChannel, type FeishuChannel } from "../../src/channels/feishu/channel.ts";
import { encryptEvent } from "../../src/channels/feishu/crypto.ts";
import { createFakeFeishu, type FakeFeishu } from "../fakes/feishu.ts";
import { capturingLogger, createStoreSink, type StoreSink, storedIds } from "./support.ts";

let fake: FakeFeishu;
let sink: StoreSink;
let ch: FeishuChannel;
let server: ReturnType<typeof Bun.serve> | undefined;
let url: string;
let rejected: string[];
const logger = capturingLogger();

async function setup(opts: { encrypt?: boolean } = {}) {
  fake = createFakeFeishu();
  sink = createStoreSink("ngb-feishu-hook-", "feishu");
  rejected = [];
  ch = createFeishuChannel({
    config: {
      region: "lark",
      baseUrl: fake.url,
      appId: fake.appId,
      appSecret: fake.appSecret,
      mode: "webhook",
      verificationToken: fake.verificationToken,
      ...(opts.encrypt === false ? {} : { encryptKey: fake.encryptKey }),
      webhookPath: "/hooks/feishu",
      format: "auto",
      workingReaction: "",
      quoteReplies: "groups",
    },
    assistantName: "Andy",
    log: logger.log,
    onRejected: (r) => rejected.push(r),
  });
  await ch.connect(sink);
  const app = ch.webhooks!;
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => app.fetch(req) });
  url = `http://127.0.0.1:${server.port}/hooks/feishu`;
}

afterEach(async () => {
  await ch?.disconnect();
  server?.stop(true);
  fake?.stop();
  sink?.close();
});

describe("feishu webhook mode", () => {
  test("URL verification (encrypted) is answered with the challenge; a wrong token is refused", async () => {
    await setup();
    const ok = await fake.urlVerification(url, "c-42");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ challenge: "c-42" });
    const bad = await fake.urlVerification(url, "c-43", { token: "forged" });
    expect(bad.status).toBe(401);
    expect(ch.health().state).toBe("connected");
  });

  test("signed, encrypted events are stored; replays are absorbed; forgeries refused", async () => {
    await setup();
    const ev = fake.messageEvent({ chatId: "oc_hook", text: "hello", messageId: "om_h1", eventId: "ev_h1" });
    expect((await fake.postEvent(url, ev)).status).toBe(200);
    // The same event posted again (the platform's retry, or a replay within the window).
    expect((await fake.postEvent(url, ev)).status).toBe(200);
    expect(storedIds(sink.store, "feishu:oc_hook")).toEqual(["om_h1"]);

    const stale = await fake.postEvent(url, fake.messageEvent({ chatId: "oc_hook", text: "old" }), {
      timestamp: Date.now() - 60 * 60_000,
    });
    expect(stale.status).toBe(401);
    const unsigned = await fake.postEvent(url, fake.messageEvent({ chatId: "oc_hook", text: "x" }), {
      sign: false,
    });
    expect(unsigned.status).toBe(401);
    const wrongKey = await fake.postEvent(url, fake.messageEvent({ chatId: "oc_hook", text: "x" }), {
      key: "another key",
    });
    expect(wrongKey.status).toBe(401); // signed with the wrong key
    const badToken = fake.messageEvent({ chatId: "oc_hook", text: "x" });
    (badToken.header as { token: string }).token = "forged";
    expect((await fake.postEvent(url, badToken)).status).toBe(401);
    const plain = await fake.postEvent(url, fake.messageEvent({ chatId: "oc_hook", text: "x" }), {
      encrypt: false,
    });
    expect(plain.status).toBe(400);
    const junk = await fetch(url, { method: "POST", body: "{not json" });
    expect(junk.status).toBe(400);
    const huge = await fetch(url, {
      method: "POST",
      body: JSON.stringify({ encrypt: "A".repeat(2 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    // A signed body whose ciphertext is garbage.
    const garbage = JSON.stringify({ encrypt: Buffer.from("not a ciphertext at all!!").toString("base64") });
    const ts = String(Math.floor(Date.now() / 1000));
    const { eventSignature } = await import("../../src/channels/feishu/crypto.ts");
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "x-lark-request-timestamp": ts,
        "x-lark-request-nonce": "n1",
        "x-lark-signature": eventSignature(ts, "n1", fake.encryptKey, garbage),
      },
      body: garbage,
    });
    expect(res.status).toBe(400);
    expect(storedIds(sink.store, "feishu:oc_hook")).toEqual(["om_h1"]);
    expect(rejected.length).toBe(8);
    const logText = logger.records.map((r) => JSON.stringify(r.args)).join("\n");
    expect(logText).not.toContain(fake.encryptKey);
    expect(logText).not.toContain(fake.verificationToken);
    expect(await encryptEvent("k", "x")).not.toBe(await encryptEvent("k", "x")); // random IVs
  });

  test("a store failure answers 500 so the platform re-posts, and the re-post is stored once", async () => {
    await setup();
    sink.failNext(1);
    const ev = fake.messageEvent({ chatId: "oc_hook", text: "retry", messageId: "om_r" });
    const res = await fake.postEvent(url, ev, { retries: 2 });
    expect(res.status).toBe(200);
    expect(sink.inboundCalls).toHaveLength(2);
    expect(storedIds(sink.store, "feishu:oc_hook")).toEqual(["om_r"]);
  });

  test("plaintext mode (no encrypt key) checks the verification token", async () => {
    await setup({ encrypt: false });
    const ev = fake.messageEvent({ chatId: "oc_plain", text: "hi", messageId: "om_p" });
    expect((await fake.postEvent(url, ev, { encrypt: false })).status).toBe(200);
    const forged = fake.messageEvent({ chatId: "oc_plain", text: "hi", messageId: "om_f" });
    (forged.header as { token: string }).token = "nope";
    expect((await fake.postEvent(url, forged, { encrypt: false })).status).toBe(401);
    expect((await fake.postEvent(url, ev, { encrypt: true })).status).toBe(400);
    expect(storedIds(sink.store, "feishu:oc_plain")).toEqual(["om_p"]);
  });
});
