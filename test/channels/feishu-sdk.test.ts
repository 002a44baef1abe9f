/**
 * Contract tests against the official Feishu/Lark Node SDK (@larksuiteoapi/node-sdk, a dev
 * dependency only): the SDK's own WSClient talks to our fake and its acks reach the fake; the
 * SDK's HTTP dispatcher accepts the fake's encrypted, signed posts; our pbbp2 codec and event
 * crypto agree with the SDK's byte for byte.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import * as lark from "@larksuiteoapi/node-sdk";
import { decryptEvent, encryptEvent, eventSignature } from "../../src/channels/feishu/crypto.ts";
import { decodeFrame, encodeFrame, type Frame } from "../../src/channels/feishu/frame.ts";
import { createFakeFeishu, type FakeFeishu } from "../fakes/feishu.ts";
import { waitFor } from "./support.ts";

// The SDK's generated protobuf classes are registered on protobufjs' default root when it loads.
const require = createRequire(import.meta.url);
const pbbp2 = require("protobufjs/minimal").roots.default.pbbp2 as {
  Frame: {
    encode(f: Record<string, unknown>): { finish(): Uint8Array };
    decode(b: Uint8Array): Record<string, unknown> & { headers: { key: string; value: string }[] };
  };
};

const quietLogger = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };

let fake: FakeFeishu | undefined;
let ws: lark.WSClient | undefined;
let httpServer: Server | undefined;

afterEach(() => {
  ws?.close({ force: true });
  ws = undefined;
  fake?.stop();
  fake = undefined;
  httpServer?.close();
  httpServer = undefined;
});

describe("official WSClient against the fake", () => {
  test("receives whole and split events, pings, and its acks reach the fake", async () => {
    fake = createFakeFeishu({ clientConfig: { PingInterval: 1 } });
    const received: Record<string, unknown>[] = [];
    const dispatcher = new lark.EventDispatcher({
      loggerLevel: lark.LoggerLevel.error,
      logger: quietLogger,
    }).register({
      "im.message.receive_v1": async (data: Record<string, unknown>) => {
        received.push(data);
      },
    });
    ws = new lark.WSClient({
      appId: fake.appId,
      appSecret: fake.appSecret,
      domain: fake.url,
      loggerLevel: lark.LoggerLevel.error,
      logger: quietLogger,
    });
    await ws.start({ eventDispatcher: dispatcher });
    await waitFor(() => fake!.openSockets === 1, "the SDK to connect");
    expect(fake.endpointCalls[0]).toEqual({ AppID: fake.appId, AppSecret: fake.appSecret });

    const e1 = fake.push(fake.messageEvent({ chatId: "oc_sdk", text: "hello from the fake" }));
    await waitFor(() => fake!.acked(e1), "the SDK's ack");
    const e2 = fake.push(fake.messageEvent({ chatId: "oc_sdk", text: "x".repeat(5000) }), { split: 3 });
    await waitFor(() => fake!.acked(e2), "the SDK's ack of a split event");

    expect(received.map((r) => (r.message as { content: string }).content)).toEqual([
      JSON.stringify({ text: "hello from the fake" }),
      JSON.stringify({ text: "x".repeat(5000) }),
    ]);
    const acks = fake.acks.filter((a) => a.code === 200);
    expect(acks).toHaveLength(2);
    expect(acks.every((a) => a.bizRt !== undefined)).toBe(true);
    // The SDK pings with the service id from the endpoint URL.
    await waitFor(() => fake!.pings.length > 0, "a ping from the SDK", 4_000);
    expect(fake.pings[0]!.service).toBe(fake.serviceId);
    // Nothing was re-pushed: every ack arrived in time.
    expect(fake.pushes.filter((p) => p.attempt > 1)).toHaveLength(0);
  }, 15_000);
});

describe("official HTTP dispatcher against the fake's posts", () => {
  test("accepts the fake's encrypted, signed event and answers its URL verification", async () => {
    fake = createFakeFeishu();
    const received: unknown[] = [];
    const dispatcher = new lark.EventDispatcher({
      encryptKey: fake.encryptKey,
      verificationToken: fake.verificationToken,
      loggerLevel: lark.LoggerLevel.error,
      logger: quietLogger,
    }).register({
      "im.message.receive_v1": async (data: unknown) => {
        received.push(data);
      },
    });
    httpServer = createServer(lark.adaptDefault("/webhook", dispatcher, { autoChallenge: true }));
    await new Promise<void>((r) => httpServer!.listen(0, "127.0.0.1", r));
    const port = (httpServer.address() as { port: number }).port;
    const url = `http://127.0.0.1:${port}/webhook`;

    const challenge = await fake.urlVerification(url, "challenge-123");
    expect(await challenge.json()).toEqual({ challenge: "challenge-123" });

    const res = await fake.postEvent(url, fake.messageEvent({ chatId: "oc_http", text: "signed" }));
    expect(res.status).toBe(200);
    expect(received).toHaveLength(1);
    expect((received[0] as { message: { chat_id: string } }).message.chat_id).toBe("oc_http");

    // A forged signature is refused by the SDK's check too (so the fake's valid one is meaningful).
    const forged = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-lark-request-timestamp": "1",
        "x-lark-request-nonce": "n",
        "x-lark-signature": "0".repeat(64),
      },
      body: JSON.stringify({
        encrypt: await encryptEvent(
          fake.encryptKey,
          JSON.stringify(fake.messageEvent({ chatId: "oc_x", text: "f" })),
        ),
      }),
    });
    await forged.text();
    expect(received).toHaveLength(1);
  });
});

describe("pbbp2 codec agrees with the SDK's", () => {
  const frames: Frame[] = [
    { seqId: 0n, logId: 0n, service: 0, method: 0, headers: [{ key: "type", value: "ping" }] },
    {
      seqId: 123456789n,
      logId: 987654321012n,
      service: 7788,
      method: 1,
      headers: [
        { key: "type", value: "event" },
        { key: "message_id", value: "msg-1" },
        { key: "sum", value: "2" },
        { key: "seq", value: "1" },
        { key: "trace_id", value: "追踪-ü" },
      ],
      payloadEncoding: "",
      payloadType: "",
      payload: new TextEncoder().encode(JSON.stringify({ schema: "2.0", text: "飞书 ✓" })),
      logIdNew: "log-new-1",
    },
    {
      seqId: 2n ** 53n - 1n,
      logId: 1n,
      service: -5,
      method: 1,
      headers: [],
      payload: new Uint8Array([0, 255, 7]),
    },
  ];

  test("SDK decodes what we encode", () => {
    for (const f of frames) {
      const d = pbbp2.Frame.decode(encodeFrame(f));
      expect(BigInt(d.SeqID as number)).toBe(f.seqId);
      expect(BigInt(d.LogID as number)).toBe(f.logId);
      expect(d.service).toBe(f.service);
      expect(d.method).toBe(f.method);
      expect(d.headers.map((h) => ({ key: h.key, value: h.value }))).toEqual(f.headers);
      if (f.payload) expect([...(d.payload as Uint8Array)]).toEqual([...f.payload]);
      if (f.logIdNew) expect(d.LogIDNew).toBe(f.logIdNew);
    }
  });

  test("we decode what the SDK encodes, and re-encode it byte for byte", () => {
    for (const f of frames) {
      const sdkBytes = pbbp2.Frame.encode({
        SeqID: Number(f.seqId),
        LogID: Number(f.logId),
        service: f.service,
        method: f.method,
        headers: f.headers,
        ...(f.payloadEncoding !== undefined ? { payloadEncoding: f.payloadEncoding } : {}),
        ...(f.payloadType !== undefined ? { payloadType: f.payloadType } : {}),
        ...(f.payload ? { payload: f.payload } : {}),
        ...(f.logIdNew ? { LogIDNew: f.logIdNew } : {}),
      }).finish();
      const ours = decodeFrame(sdkBytes);
      expect(ours).toEqual(f);
      expect(encodeFrame(ours)).toEqual(new Uint8Array(sdkBytes));
    }
  });
});

describe("event crypto agrees with the SDK's", () => {
  test("the published test vector decrypts to 'hello world'", async () => {
    expect(await decryptEvent("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=")).toBe(
      "hello world",
    );
    expect(new lark.AESCipher("test key").decrypt("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=")).toBe(
      "hello world",
    );
  });

  test("the SDK decrypts what we encrypt, for ASCII, CJK and long plaintexts", async () => {
    for (const plain of ["{}", JSON.stringify({ text: "飞书消息 ✓" }), "x".repeat(10_000)]) {
      const blob = await encryptEvent("some encrypt key", plain);
      expect(new lark.AESCipher("some encrypt key").decrypt(blob)).toBe(plain);
      expect(await decryptEvent("some encrypt key", blob)).toBe(plain);
    }
  });

  test("our X-Lark-Signature matches the SDK's check", () => {
    const body = { encrypt: "abc+/=" };
    const raw = JSON.stringify(body);
    const dispatcher = new lark.EventDispatcher({
      encryptKey: "k-1",
      loggerLevel: lark.LoggerLevel.error,
      logger: quietLogger,
    });
    const sig = eventSignature("1700000000", "nonce-1", "k-1", raw);
    const data = Object.assign(
      Object.create({
        headers: {
          "x-lark-request-timestamp": "1700000000",
          "x-lark-request-nonce": "nonce-1",
          "x-lark-signature": sig,
        },
      }),
      body,
    );
    const handle = (
      dispatcher as unknown as { requestHandle: { checkIsEventValidated(d: unknown): boolean } }
    ).requestHandle;
    expect(handle.checkIsEventValidated(data)).toBe(true);
    const bad = Object.assign(
      Object.create({
        headers: {
          "x-lark-request-timestamp": "1700000000",
          "x-lark-request-nonce": "nonce-1",
          "x-lark-signature": sig.replace(/^./, "0"),
        },
      }),
      body,
    );
    expect(handle.checkIsEventValidated(bad)).toBe(false);
  });
});
