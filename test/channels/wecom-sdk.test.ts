/**
 * The fake is faithful, not just self-consistent: the official @wecom/aibot-node-sdk (pointed at
 * the fake with `wsUrl`) subscribes, keeps its heartbeat answered, receives a message callback,
 * answers it with a stream by req_id and pushes a proactive markdown message — all accepted by
 * the fake; a wrong secret is refused the way the SDK expects. The product never imports the SDK.
 */
import { afterEach, expect, test } from "bun:test";
import { WSClient } from "@wecom/aibot-node-sdk";
import { type FakeWecom, startFakeWecom } from "../fakes/wecom.ts";
import { waitFor } from "./support.ts";

let fake: FakeWecom | undefined;
let client: InstanceType<typeof WSClient> | undefined;

afterEach(async () => {
  try {
    client?.disconnect();
  } catch {}
  await fake?.stop();
  fake = client = undefined;
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

test("official SDK: subscribe, heartbeat, message callback, stream reply and proactive send against the fake", async () => {
  fake = startFakeWecom();
  const f = fake;
  client = new WSClient({
    botId: "bot-1",
    secret: "bot-secret-1",
    wsUrl: f.wsUrl,
    heartbeatInterval: 50,
    logger: quiet,
  });
  const c = client;
  let authenticated = false;
  c.on("authenticated", () => {
    authenticated = true;
  });
  const texts: string[] = [];
  c.on("message.text", (frame) => {
    texts.push(frame.body?.text.content ?? "");
    void c
      .replyStream(frame, "stream-sdk-1", "partial", false)
      .then(() => c.replyStream(frame, "stream-sdk-1", "full answer", true));
  });
  c.connect();
  await waitFor(() => authenticated, "SDK authenticated");
  await waitFor(() => f.pings >= 2, "SDK heartbeats answered");
  const { reqId } = f.pushMessage({
    chattype: "group",
    chatid: "wrg1",
    userid: "zhangsan",
    text: "@RobotA hi",
  });
  await waitFor(() => f.streams.some((s) => s.finished), "stream finished");
  expect(texts).toEqual(["@RobotA hi"]);
  expect(f.streams[0]).toMatchObject({
    reqId,
    id: "stream-sdk-1",
    content: "full answer",
    finished: true,
    frames: 2,
  });
  const ack = await c.sendMessage("wrg1", { msgtype: "markdown", markdown: { content: "**hello**" } });
  expect(ack.errcode).toBe(0);
  expect(f.proactive).toEqual([{ chatid: "wrg1", content: "**hello**", msgtype: "markdown" }]);
  // A reply to an unknown req_id is refused with errcode ≠ 0, which the SDK surfaces as a rejection.
  const refused = await c
    .replyStream({ headers: { req_id: "never-issued" } } as never, "s2", "x", true)
    .catch((e) => e);
  expect(refused.errcode).not.toBe(0);
});

test("official SDK: a wrong secret is refused (errcode ≠ 0) and reported as an error", async () => {
  fake = startFakeWecom();
  client = new WSClient({
    botId: "bot-1",
    secret: "wrong",
    wsUrl: fake.wsUrl,
    maxAuthFailureAttempts: 1,
    reconnectInterval: 10_000,
    logger: quiet,
  });
  const errors: string[] = [];
  client.on("error", (e: Error) => errors.push(e.message));
  client.connect();
  await waitFor(() => errors.some((m) => m.includes("Authentication failed")), "auth failure reported");
  expect(fake.subscribes[0]).toEqual({ botId: "bot-1", ok: false });
});
