/**
 * Is the fake DingTalk faithful, not just self-consistent? The official Stream SDK
 * (dingtalk-stream, a dev dependency; the product never imports it) hard-codes
 * https://api.dingtalk.com, so it runs unmodified in a child process with standard proxy and
 * CA settings that route that host to our fake. It must open a connection with its own
 * request, receive our callback frame, and its ack and ping echo must satisfy the fake. Our
 * adapter's ack frames are then compared with the SDK's, field by field.
 */
import { afterEach, expect, test } from "bun:test";
import { TOPIC_ROBOT as SDK_TOPIC_ROBOT, type DWClientDownStream } from "dingtalk-stream";
import { ackDataFor, ackFrame, parseFrame, TOPIC_ROBOT } from "../../src/channels/dingtalk/frames.ts";
import { RobotMessage } from "../../src/channels/dingtalk/map.ts";
import * as v from "valibot";
import { createFakeDingTalk, type FakeDingTalk } from "../fakes/dingtalk.ts";
import { type HttpsImpersonation, impersonateHttps, opensslAvailable } from "../fakes/https-impersonation.ts";
import { waitFor } from "./support.ts";

let fake: FakeDingTalk | undefined;
let tunnel: HttpsImpersonation | undefined;
let child: Bun.Subprocess<"ignore", "pipe", "pipe"> | undefined;

afterEach(async () => {
  child?.kill();
  await child?.exited;
  child = undefined;
  tunnel?.stop();
  await fake?.stop();
});

/** Lines the child printed so far, parsed. */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const lines: Record<string, unknown>[] = [];
  void (async () => {
    let buf = "";
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += new TextDecoder().decode(value);
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line.startsWith("{")) lines.push(JSON.parse(line) as Record<string, unknown>);
        nl = buf.indexOf("\n");
      }
    }
  })();
  return lines;
}

test("the SDK's topic constant and frame type match ours", () => {
  expect(SDK_TOPIC_ROBOT).toBe(TOPIC_ROBOT);
  // A frame the gateway sends, typed by the SDK: our parser accepts it unchanged.
  const frame: DWClientDownStream = {
    specVersion: "1.0",
    type: "CALLBACK",
    headers: {
      appId: "a",
      connectionId: "c",
      contentType: "application/json",
      messageId: "m1",
      time: "1690362102194",
      topic: SDK_TOPIC_ROBOT,
    },
    data: "{}",
  };
  const parsed = parseFrame(JSON.stringify(frame));
  expect(parsed.ok && parsed.frame.headers.messageId).toBe("m1");
});

test.skipIf(!opensslAvailable())(
  "the official SDK connects to the fake, receives a robot callback, and its ack and ping echo reach the fake",
  async () => {
    fake = createFakeDingTalk({ redeliverAfterMs: 0, pingTimeoutMs: 3_000 });
    tunnel = impersonateHttps("api.dingtalk.com", fake.url);
    child = Bun.spawn([process.execPath, "test/fakes/dingtalk-sdk-client.ts"], {
      env: {
        ...process.env,
        HTTPS_PROXY: tunnel.proxyUrl,
        https_proxy: tunnel.proxyUrl,
        NO_PROXY: "",
        no_proxy: "",
        NODE_EXTRA_CA_CERTS: tunnel.caFile,
        DT_CLIENT_ID: fake.clientId,
        DT_CLIENT_SECRET: fake.clientSecret,
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const lines = lineReader(child.stdout);
    await waitFor(() => lines.some((l) => l.connected === true), "SDK connected", 15_000);
    expect(tunnel.tunnels).toContain("api.dingtalk.com:443");
    // The SDK's own connections/open request passed the fake's checks.
    expect(fake.opens).toHaveLength(1);
    expect(fake.opens[0]!.accept).toContain("application/json");
    expect(fake.opens[0]!.subscriptions).toContainEqual({ type: "CALLBACK", topic: TOPIC_ROBOT });

    const pushed = fake.pushRobotMessage({ chat: "group", text: "hello from the fake" });
    await waitFor(() => lines.some((l) => l.callback), "callback at the SDK");
    const got = lines.find((l) => l.callback)!.callback as DWClientDownStream;
    expect(got.headers.messageId).toBe(pushed.messageId);
    expect(got.headers.topic).toBe(TOPIC_ROBOT);
    const data = v.parse(RobotMessage, JSON.parse(got.data));
    expect(data.msgId).toBe(pushed.msgId);
    expect(data.text?.content).toBe(" hello from the fake");

    await waitFor(() => fake!.acks.some((a) => a.messageId === pushed.messageId), "SDK ack at the fake");
    expect(fake.pendingCount).toBe(0);
    const opaque = fake.sendPing();
    await waitFor(() => fake!.pongs.includes(opaque), "SDK ping echo at the fake");
    expect(fake.badAcks).toEqual([]);

    // Our adapter's ack has the same shape as the SDK's (keys, header keys, value types).
    const sdkAck = JSON.parse(fake.acks.find((a) => a.messageId === pushed.messageId)!.raw) as Record<
      string,
      unknown
    >;
    const parsed = parseFrame(JSON.stringify(got));
    if (!parsed.ok) throw new Error(parsed.reason);
    const ours = ackFrame(pushed.messageId, ackDataFor(parsed.frame)) as unknown as Record<string, unknown>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(sdkAck).sort());
    expect(Object.keys(ours.headers as object).sort()).toEqual(Object.keys(sdkAck.headers as object).sort());
    expect(ours.code).toBe(sdkAck.code as number);
    expect(ours.message).toBe(sdkAck.message as string);
    expect(ours.headers).toEqual(sdkAck.headers as object);
    expect(typeof JSON.parse(ours.data as string)).toBe(typeof JSON.parse(sdkAck.data as string));
  },
  30_000,
);
