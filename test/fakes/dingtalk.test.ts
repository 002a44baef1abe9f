/**
 * The fake DingTalk keeps the platform rules a client could get wrong: tickets are single-use and
 * expire after 90 s (the upgrade is refused), un-acked callbacks are pushed again with the same
 * messageId, a ping must be echoed or the socket is closed, a disconnect notice is followed by a
 * close, and the REST checks (wrong secret, Accept header, token header, JSON-string msgParam).
 */
import { afterEach, expect, test } from "bun:test";
import { createFakeDingTalk, type FakeDingTalk, ROBOT_TOPIC } from "./dingtalk.ts";

let fake: FakeDingTalk;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.close();
  await fake?.stop();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${fake.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

async function open(topics = [{ type: "CALLBACK", topic: ROBOT_TOPIC }]) {
  const r = await post("/v1.0/gateway/connections/open", {
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    subscriptions: topics,
  });
  return r.json() as { endpoint: string; ticket: string };
}

/** Connect; resolves with the socket and its received frames, or rejects when the upgrade is refused. */
function connect(url: string): Promise<{ ws: WebSocket; frames: Record<string, unknown>[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    sockets.push(ws);
    const frames: Record<string, unknown>[] = [];
    ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
    ws.onopen = () => resolve({ ws, frames });
    ws.onerror = () => reject(new Error("upgrade refused"));
  });
}

async function until(pred: () => boolean, what: string, ms = 3_000) {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await Bun.sleep(5);
  }
}

test("a ticket opens one connection only; an expired one is refused", async () => {
  fake = createFakeDingTalk({ ticketTtlMs: 100 });
  const { endpoint, ticket } = await open();
  expect(endpoint).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/connect$/);
  await connect(`${endpoint}?ticket=${ticket}`);
  await expect(connect(`${endpoint}?ticket=${ticket}`)).rejects.toThrow("refused");
  const late = await open();
  await Bun.sleep(150);
  await expect(connect(`${late.endpoint}?ticket=${late.ticket}`)).rejects.toThrow("refused");
  await expect(connect(`${endpoint}?ticket=made-up`)).rejects.toThrow("refused");
  expect(fake.rejectedUpgrades).toBe(3);
});

test("connections/open checks credentials, subscriptions and the Accept header", async () => {
  fake = createFakeDingTalk();
  const bad = await post("/v1.0/gateway/connections/open", { clientId: fake.clientId, clientSecret: "nope" });
  expect(bad.status).toBe(400);
  expect(bad.json().code).toBe("InvalidAuthentication");
  const eventTopic = await post("/v1.0/gateway/connections/open", {
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    subscriptions: [{ type: "EVENT", topic: "user_add_org" }],
  });
  expect(eventTopic.status).toBe(400);
  const xml = await post(
    "/v1.0/gateway/connections/open",
    { clientId: fake.clientId, clientSecret: fake.clientSecret, subscriptions: [] },
    { accept: "*/*" },
  );
  expect(xml.text.startsWith("<")).toBe(true);
});

test("an un-acked callback is pushed again with the same messageId; an acked one is not", async () => {
  fake = createFakeDingTalk({ redeliverAfterMs: 50 });
  const { endpoint, ticket } = await open();
  const { ws, frames } = await connect(`${endpoint}?ticket=${ticket}`);
  const { messageId } = fake.pushRobotMessage({ chat: "user", text: "hi" });
  await until(() => frames.length >= 2, "re-push");
  expect(frames.map((f) => (f.headers as { messageId: string }).messageId)).toEqual([messageId, messageId]);
  expect(typeof frames[0]!.data).toBe("string");
  ws.send(
    JSON.stringify({
      code: 200,
      headers: { contentType: "application/json", messageId },
      message: "OK",
      data: '{"response":null}',
    }),
  );
  await until(() => fake.pendingCount === 0, "acked");
  const n = frames.length;
  await Bun.sleep(150);
  expect(frames.length).toBe(n);
  // An ack of the wrong shape is recorded as bad and acks nothing.
  ws.send(JSON.stringify({ code: 200, headers: { messageId: "x" } }));
  await until(() => fake.badAcks.length === 1, "bad ack");
});

test("a ping that is not echoed closes the socket; a disconnect notice is followed by a close", async () => {
  fake = createFakeDingTalk({ pingTimeoutMs: 100, disconnectCloseMs: 50 });
  const a = await open();
  const first = await connect(`${a.endpoint}?ticket=${a.ticket}`);
  const closed = new Promise<number>((r) => first.ws.addEventListener("close", (e) => r(e.code)));
  fake.sendPing();
  expect(await closed).toBe(1002);
  const b = await open();
  const second = await connect(`${b.endpoint}?ticket=${b.ticket}`);
  const closed2 = new Promise<number>((r) => second.ws.addEventListener("close", (e) => r(e.code)));
  fake.sendDisconnect("connection is expired");
  expect(await closed2).toBe(1000);
  const notice = second.frames.find((f) => (f.headers as { topic: string }).topic === "disconnect")!;
  expect(notice.type).toBe("SYSTEM");
  expect(JSON.parse(notice.data as string)).toEqual({ reason: "connection is expired" });
});

test("robot sends need the token header, robotCode and a JSON-string msgParam", async () => {
  fake = createFakeDingTalk();
  const tok = (
    await post("/v1.0/oauth2/accessToken", { appKey: fake.clientId, appSecret: fake.clientSecret })
  ).json() as { accessToken: string; expireIn: number };
  expect(tok.expireIn).toBe(7200);
  const send = (body: Record<string, unknown>, token = tok.accessToken) =>
    post("/v1.0/robot/oToMessages/batchSend", body, { "x-acs-dingtalk-access-token": token });
  const ok = {
    robotCode: fake.clientId,
    userIds: ["staff001"],
    msgKey: "sampleText",
    msgParam: '{"content":"hi"}',
  };
  expect((await send(ok, "bad-token")).json().code).toBe("InvalidAuthentication");
  expect((await send({ ...ok, robotCode: "other" })).status).toBe(400);
  expect((await send({ ...ok, msgParam: { content: "hi" } })).status).toBe(400);
  const res = (await send({ ...ok, userIds: ["staff001", "ghost"] })).json();
  expect(res.invalidStaffIdList).toEqual(["ghost"]);
  expect(fake.sent).toEqual([{ route: "oto", to: "staff001", msgtype: "text", text: "hi" }]);
});

test("a session webhook honours its expiry and refuses bodies over 20,000 bytes", async () => {
  fake = createFakeDingTalk({ webhookTtlMs: 200 });
  const { msgId } = fake.pushRobotMessage({ chat: "group", text: "hi" });
  const url = fake.webhookOf(msgId)!;
  const hook = async (content: string) =>
    (await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ msgtype: "text", text: { content } }),
    }).then((r) => r.json())) as { errcode: number };
  expect((await hook("字".repeat(7_000))).errcode).toBe(460101);
  expect((await hook("fits")).errcode).toBe(0);
  await Bun.sleep(250);
  expect((await hook("too late")).errcode).toBe(300001);
  expect(fake.sent.map((s) => s.text)).toEqual(["fits"]);
});
