/**
 * DingTalk through the real orchestrator (store, queue, delivery) with the in-process fake agent:
 * a robot message at the fake DingTalk → stored → agent → reply at the fake, once; by session
 * webhook while it is valid, by the OpenAPI once it expired.
 */
import { afterEach, expect, test } from "bun:test";
import { createDingTalkChannel } from "../../src/channels/dingtalk/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createFakeDingTalk, type FakeDingTalk } from "../fakes/dingtalk.ts";
import { createLoopRig, type LoopRig, waitFor } from "./support.ts";

let rig: LoopRig | undefined;
let fake: FakeDingTalk | undefined;

afterEach(async () => {
  await rig?.stop();
  await fake?.stop();
  rig = undefined;
  fake = undefined;
});

function start(jid: string) {
  const dt = createFakeDingTalk({ disconnectCloseMs: 100 });
  fake = dt;
  rig = createLoopRig({
    prefix: "ngb-dt-loop-",
    jid,
    respond: (t) => [{ status: "success", result: `got: ${t.text.slice(-40)}`, newSessionId: "s1" }],
    channel: (config) =>
      createDingTalkChannel({
        config: { apiBaseUrl: dt.url, clientId: dt.clientId, clientSecret: dt.clientSecret },
        assistantName: config.assistantName,
        log: silentLogger(),
        backoff: { initialMs: 20, maxMs: 200 },
      }),
  });
  return { dt, rig };
}

test("group message @-ing the bot → agent → reply through the session webhook, once", async () => {
  const { dt, rig } = start("dingtalk:group:cidTeam==");
  await rig.orch.start();
  await waitFor(() => rig.channel.health().state === "connected", "connected");
  // A group that is not registered: stored and discovered, never acted on.
  dt.pushRobotMessage({ chat: "group", conversationId: "cidOther==", text: "not for us" });
  await waitFor(() => rig.store.messages.count() === 1, "unregistered message stored");
  dt.pushRobotMessage({ chat: "group", conversationId: "cidTeam==", text: "what is 2+2?" });
  await waitFor(() => dt.sent.length === 1, "reply at the fake");
  expect(dt.sent[0]).toMatchObject({
    route: "webhook",
    to: "cidTeam==",
    text: expect.stringContaining("got:"),
  });
  expect(rig.runner.starts).toHaveLength(1);
  expect(rig.runner.starts[0]!.input.prompt).toContain("@Andy what is 2+2?");
  // The reply is stored as the bot's own message and triggers nothing.
  await rig.settled();
  expect(rig.runner.starts).toHaveLength(1);
  expect(dt.sent).toHaveLength(1);
  expect(dt.pendingCount).toBe(0);
  expect(dt.sent.some((x) => x.to === "cidOther==")).toBe(false);
  expect(rig.runner.starts[0]!.input.prompt).not.toContain("not for us");
});

test("a 1:1 message whose webhook expired is answered through oToMessages/batchSend", async () => {
  const { dt, rig } = start("dingtalk:user:staff002");
  await rig.orch.start();
  await waitFor(() => rig.channel.health().state === "connected", "connected");
  dt.pushRobotMessage({ chat: "user", senderStaffId: "staff002", text: "hello", webhookTtlMs: 1 });
  await waitFor(() => dt.sent.length === 1, "reply at the fake");
  expect(dt.sent[0]).toMatchObject({ route: "oto", to: "staff002", text: expect.stringContaining("got:") });
  // A disconnect notice mid-conversation loses nothing.
  dt.sendDisconnect();
  dt.pushRobotMessage({ chat: "user", senderStaffId: "staff002", text: "again" });
  await waitFor(() => dt.sent.length === 2, "second reply");
  expect(dt.connectionCount).toBe(2);
});
