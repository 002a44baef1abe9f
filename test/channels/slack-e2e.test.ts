/**
 * End to end through the real orchestrator: fake Slack → Slack adapter → store → orchestrator →
 * (fake agent runner) → delivery → chat.postMessage at the fake. The bot's echo of its own
 * reply must not trigger another run.
 */
import { afterEach, expect, test } from "bun:test";
import { createSlackChannel } from "../../src/channels/slack/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createFakeSlack, type FakeSlack, slackTs } from "../fakes/slack.ts";
import { createLoopRig, type LoopRig, waitFor } from "./support.ts";

let rig: LoopRig | undefined;
let fake: FakeSlack | undefined;

afterEach(async () => {
  await rig?.stop();
  await fake?.stop();
  rig = undefined;
  fake = undefined;
});

test("slack message mentioning the bot → agent runs → reply posted to the channel, once", async () => {
  const slack = createFakeSlack();
  fake = slack;
  rig = createLoopRig({
    prefix: "ngb-slack-e2e-",
    jid: "slack:C0TEAM",
    respond: (t) => [{ status: "success", result: `got ${t.input.prompt.length} chars`, newSessionId: "s1" }],
    channel: (config) =>
      createSlackChannel({
        apiBaseUrl: slack.apiBaseUrl,
        botToken: slack.botToken,
        appToken: slack.appToken,
        assistantName: config.assistantName,
        log: silentLogger(),
      }),
  });
  const { orch, runner, channel } = rig;
  await orch.start();
  await waitFor(() => channel.health().state === "connected", "slack connected");

  slack.pushEvent(slack.message({ channel: "C0TEAM", text: "just chatting", ts: slackTs() }));
  // Mentioned mid-sentence: the mention maps to the trigger.
  slack.pushEvent(
    slack.message({ channel: "C0TEAM", text: `what do you think <@${slack.botUserId}>?`, ts: slackTs() }),
  );
  await slack.waitFor(() => slack.posted.length === 1, 10_000, "reply posted");
  expect(slack.posted[0]).toMatchObject({
    channel: "C0TEAM",
    text: expect.stringMatching(/^got \d+ chars$/),
  });
  expect(runner.starts).toHaveLength(1);
  expect(runner.starts[0]!.input.prompt).toContain("what do you think @Andy?");
  expect(runner.starts[0]!.input.prompt).toContain("just chatting");
  // The echo of the reply is acked and does not start another run.
  await slack.waitFor(() => slack.pendingCount === 0 && slack.acks.length === 3, 5_000, "echo acked");
  expect(runner.starts).toHaveLength(1);
  expect(slack.posted).toHaveLength(1);
});
