/**
 * "This message is ours" through the real orchestrator, with each fake echoing the bot's own
 * posts where the platform does (Discord MESSAGE_CREATE, Slack message events with bot_id;
 * Telegram never delivers a bot's own messages): the agent's inputs hold only what users wrote,
 * and every trigger is answered exactly once. Also: a Slack user's display name (users.info)
 * reaches the agent's prompt.
 */
import { afterEach, expect, test } from "bun:test";
import { createDiscordChannel } from "../../src/channels/discord/channel.ts";
import { createSlackChannel } from "../../src/channels/slack/channel.ts";
import { createTelegramChannel } from "../../src/channels/telegram/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createFakeDiscord, type FakeDiscord } from "../fakes/discord.ts";
import { createFakeSlack, type FakeSlack, slackTs } from "../fakes/slack.ts";
import { createFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts";
import { until } from "../support/wait.ts";
import { createLoopRig, type LoopRig } from "./support.ts";

let rig: LoopRig | undefined;
let dc: FakeDiscord | undefined;
let sl: FakeSlack | undefined;
let tg: FakeTelegram | undefined;

afterEach(async () => {
  await rig?.stop();
  dc?.stop();
  await sl?.stop();
  tg?.stop();
  rig = dc = sl = tg = undefined;
});

const ROUNDS = 4;

/** What the agent was given, turn by turn (start prompts and follow-ups). */
function agentInputs() {
  const inputs: string[] = [];
  return {
    inputs,
    respond: (t: { text: string }) => {
      inputs.push(t.text);
      const asked = [...t.text.matchAll(/question (\d+)/g)].map((m) => m[1]).join(",");
      return [{ status: "success" as const, result: `ANSWER to ${asked}`, newSessionId: "s1" }];
    },
  };
}

function expectOnlyUserInput(inputs: string[]) {
  expect(inputs.length).toBeGreaterThan(0);
  for (const text of inputs) expect(text).not.toContain("ANSWER");
  // Each question reached the agent once.
  const asked = inputs.flatMap((t) => [...t.matchAll(/question (\d+)/g)].map((m) => Number(m[1])));
  expect(asked.sort((a, b) => a - b)).toEqual(Array.from({ length: ROUNDS }, (_, i) => i + 1));
}

test("discord: the echo of each reply never comes back as user input; each question answered once", async () => {
  dc = createFakeDiscord({ heartbeatIntervalMs: 1000 });
  const fake = dc;
  expect(fake.echoOwnPosts).toBe(true);
  const channelId = fake.guilds[0]!.channels[0]!.id;
  const agent = agentInputs();
  rig = createLoopRig({
    prefix: "ngb-echo-dc-",
    jid: `dc:${channelId}`,
    respond: agent.respond,
    channel: (config) =>
      createDiscordChannel({
        config: { apiBaseUrl: fake.apiBaseUrl, gatewayUrl: fake.gatewayUrl, botToken: fake.token },
        assistantName: config.assistantName,
        log: silentLogger(),
      }),
  });
  await rig.orch.start();
  await until(() => rig!.channel.health().state === "connected" && fake.online, "discord connected");
  for (let i = 1; i <= ROUNDS; i++) {
    fake.message({ content: `<@${fake.botId}> question ${i}`, mentions: [fake.botId] });
    await until(() => fake.sent.length === i, `reply ${i}`, 10_000);
  }
  // Dispatches are handled in order: once a plain message sent after the last reply is stored,
  // every echo before it has been handled.
  fake.message({ content: "after the echoes" });
  await until(
    () => rig!.store.messages.since(`dc:${channelId}`, 0).some((m) => m.content === "after the echoes"),
    "the barrier message stored",
  );
  await rig.settled();
  expect(fake.sent.map((s) => s.content)).toEqual(
    Array.from({ length: ROUNDS }, (_, i) => `ANSWER to ${i + 1}`),
  );
  expectOnlyUserInput(agent.inputs);
  // History: each reply once, as the bot's.
  const history = rig.store.messages.since(`dc:${channelId}`, 0);
  const replies = history.filter((m) => m.content.startsWith("ANSWER"));
  expect(replies).toHaveLength(ROUNDS);
  expect(replies.every((m) => m.isFromMe && m.isBot)).toBe(true);
});

test("slack: echoed replies (bot_id) never come back as user input; the sender's display name reaches the agent", async () => {
  sl = createFakeSlack();
  const fake = sl;
  const agent = agentInputs();
  rig = createLoopRig({
    prefix: "ngb-echo-slack-",
    jid: "slack:C0TEAM",
    respond: agent.respond,
    channel: (config) =>
      createSlackChannel({
        apiBaseUrl: fake.apiBaseUrl,
        botToken: fake.botToken,
        appToken: fake.appToken,
        assistantName: config.assistantName,
        log: silentLogger(),
      }),
  });
  await rig.orch.start();
  await until(() => rig!.channel.health().state === "connected", "slack connected");
  for (let i = 1; i <= ROUNDS; i++) {
    fake.pushEvent(
      fake.message({ channel: "C0TEAM", text: `<@${fake.botUserId}> question ${i}`, ts: slackTs() }),
    );
    await fake.waitFor(() => fake.posted.length === i, 10_000, `reply ${i}`);
  }
  await fake.waitFor(() => fake.pendingCount === 0, 5_000, "all acked (echoes included)");
  expect(fake.posted.map((p) => p.text)).toEqual(
    Array.from({ length: ROUNDS }, (_, i) => `ANSWER to ${i + 1}`),
  );
  expectOnlyUserInput(agent.inputs);
  expect(agent.inputs[0]).toContain('sender="Alice"');
  expect(
    rig.store.messages.since("slack:C0TEAM", 0).find((m) => m.content.includes("question 1"))?.senderName,
  ).toBe("Alice");
});

test("telegram: replies are never delivered back (as on Telegram), each question answered once", async () => {
  tg = createFakeTelegram();
  const fake = tg;
  const agent = agentInputs();
  rig = createLoopRig({
    prefix: "ngb-echo-tg-",
    jid: "tg:-100555",
    respond: agent.respond,
    channel: () =>
      createTelegramChannel({
        config: {
          apiBaseUrl: fake.url,
          botToken: fake.token,
          mode: "polling",
          webhookPath: "/hooks/telegram",
          pollTimeoutSec: 1,
        },
        log: silentLogger(),
      }),
  });
  await rig.orch.start();
  await until(() => rig!.channel.health().state === "connected", "telegram connected");
  for (let i = 1; i <= ROUNDS; i++) {
    fake.pushMessage({
      chatId: -100555,
      text: `@${fake.botUsername} question ${i}`,
      entities: [{ type: "mention", offset: 0, length: fake.botUsername.length + 1 }],
    });
    await until(() => fake.sent.length === i, `reply ${i}`, 10_000);
  }
  expect(fake.sent.map((s) => s.text)).toEqual(
    Array.from({ length: ROUNDS }, (_, i) => `ANSWER to ${i + 1}`),
  );
  expectOnlyUserInput(agent.inputs);
});
