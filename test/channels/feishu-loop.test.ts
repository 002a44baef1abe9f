/**
 * Through the real orchestrator: fake Feishu → long connection → store → orchestrator → (fake
 * agent runner) → delivery → reply in the triggering message's thread at the fake, once.
 */
import { afterEach, expect, test } from "bun:test";
import { createFeishuChannel } from "../../src/channels/feishu/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createFakeFeishu, type FakeFeishu } from "../fakes/feishu.ts";
import { createLoopRig, type LoopRig, waitFor } from "./support.ts";

let rig: LoopRig | undefined;
let fake: FakeFeishu | undefined;

afterEach(async () => {
  await rig?.stop();
  fake?.stop();
  rig = undefined;
  fake = undefined;
});

test("feishu message mentioning the bot in a thread → agent runs → reply in that thread, once", async () => {
  const f = createFakeFeishu({ ackTimeoutMs: 500 });
  fake = f;
  rig = createLoopRig({
    prefix: "ngb-feishu-loop-",
    jid: "feishu:oc_team",
    respond: (t) => [
      { status: "success", result: `**got** ${t.input.prompt.length} chars`, newSessionId: "s1" },
    ],
    channel: (config) =>
      createFeishuChannel({
        config: {
          region: "feishu",
          baseUrl: f.url,
          appId: f.appId,
          appSecret: f.appSecret,
          mode: "websocket",
          webhookPath: "/hooks/feishu",
          format: "auto",
          workingReaction: "Typing",
          quoteReplies: "groups",
        },
        assistantName: config.assistantName,
        log: silentLogger(),
      }),
  });
  const { orch, runner, channel } = rig;
  await orch.start();
  await waitFor(() => channel.health().state === "connected", "feishu connected");

  f.push(
    f.messageEvent({
      chatId: "oc_team",
      text: "just chatting",
      messageId: "om_1",
      threadId: "omt_9",
      rootId: "om_root9",
    }),
  );
  f.push(f.messageEvent({ chatId: "oc_team", text: "main-line chatter", messageId: "om_0" }));
  f.push(
    f.messageEvent({
      chatId: "oc_team",
      text: "what do you think @_user_1?",
      messageId: "om_2",
      threadId: "omt_9",
      rootId: "om_root9",
      mentions: [{ key: "@_user_1", openId: f.botOpenId, name: f.botName }],
    }),
  );
  f.push(
    f.messageEvent({
      chatId: "oc_unregistered",
      text: "@_user_1 hello?",
      messageId: "om_x",
      mentions: [{ key: "@_user_1", openId: f.botOpenId, name: f.botName }],
    }),
  );
  await waitFor(() => f.sent.length === 1, "reply sent", 10_000);
  expect(f.sent[0]).toMatchObject({ reply_to: "om_root9", reply_in_thread: true, msg_type: "post" });
  expect(f.sent[0]!.text).toMatch(/^\*\*got\*\* \d+ chars$/);
  expect(runner.starts).toHaveLength(1);
  expect(runner.starts[0]!.input.prompt).toContain("what do you think @Andy?");
  expect(runner.starts[0]!.input.prompt).toContain("just chatting");
  // Messages outside the thread are not part of the thread's answer.
  expect(runner.starts[0]!.input.prompt).not.toContain("main-line chatter");
  await rig.settled();
  expect(f.sent).toHaveLength(1);
  expect(runner.starts).toHaveLength(1);
  // The unregistered chat's message is stored, not acted on.
  expect(rig.store.messages.since("feishu:oc_unregistered", 0, 10)).toHaveLength(1);
});
