/**
 * End to end through the real orchestrator: fake platform → adapter → store → orchestrator →
 * (fake agent runner) → delivery → the fake platform's send endpoint, for Telegram and Discord.
 * A mention of the bot (not the `@Andy` prefix) triggers; a long reply arrives chunked; plain
 * chatter doesn't trigger on its own.
 */
import { afterEach, expect, test } from "bun:test";
import { createDiscordChannel } from "../../src/channels/discord/channel.ts";
import { createTelegramChannel } from "../../src/channels/telegram/channel.ts";
import type { Config } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { Channel } from "../../src/orchestrator/index.ts";
import { createFakeDiscord, type FakeDiscord } from "../fakes/discord.ts";
import { createFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts";
import { createLoopRig, type LoopRig, waitFor } from "./support.ts";

let rig: LoopRig | undefined;
let tg: FakeTelegram | undefined;
let dc: FakeDiscord | undefined;

afterEach(async () => {
  await rig?.stop();
  tg?.stop();
  dc?.stop();
  rig = undefined;
  tg = undefined;
  dc = undefined;
});

const LONG = Array.from({ length: 40 }, (_, i) => `Point ${i}: ${"detail ".repeat(20)}`.trim()).join("\n\n");

function setup(channel: (config: Config) => Channel, jid: string) {
  rig = createLoopRig({
    prefix: "ngb-tgdc-e2e-",
    jid,
    channel,
    respond: (t) => [
      {
        status: "success",
        result: t.input.prompt.includes("long please") ? LONG : "short answer",
        newSessionId: "s1",
      },
    ],
  });
  return { ch: rig.channel, runner: rig.runner, store: rig.store, orch: rig.orch };
}

test("telegram: @bot mention (in a topic) → agent → reply, long replies chunked to 4096", async () => {
  tg = createFakeTelegram();
  const fake = tg;
  const { ch, runner, store, orch } = setup(
    () =>
      createTelegramChannel({
        config: {
          apiBaseUrl: fake.url,
          botToken: fake.token,
          mode: "polling",
          webhookPath: "/hooks/telegram",
          pollTimeoutSec: 2,
        },
        log: silentLogger(),
      }),
    "tg:-100777",
  );
  await orch.start();
  await waitFor(() => ch.health().state === "connected", "telegram connected");

  fake.pushMessage({ chatId: -100777, text: "just chatting" });
  await waitFor(() => store.messages.count() === 1, "chatter stored");
  expect(runner.starts).toHaveLength(0);

  const mention = `hey @${fake.botUsername} long please`;
  fake.pushMessage({
    chatId: -100777,
    text: mention,
    threadId: 12,
    entities: [{ type: "mention", offset: 4, length: fake.botUsername.length + 1 }],
  });
  await waitFor(() => fake.sent.length >= 2, "chunked reply delivered", 15_000);
  await waitFor(() => fake.sent.map((s) => s.text).join("\n\n") === LONG, "whole reply delivered");
  expect(runner.starts).toHaveLength(1);
  expect(runner.starts[0]!.input.prompt).toContain("just chatting");
  for (const s of fake.sent) {
    expect(s.text.length).toBeLessThanOrEqual(4096);
    expect(String(s.chat_id)).toBe("-100777");
  }
});

test("discord: <@bot> mention → agent → reply posted to the channel, chunked to 2000", async () => {
  dc = createFakeDiscord({ heartbeatIntervalMs: 1000 });
  const fake = dc;
  const channelId = fake.guilds[0]!.channels[0]!.id;
  const { ch, runner, store, orch } = setup(
    (config) =>
      createDiscordChannel({
        config: { apiBaseUrl: fake.apiBaseUrl, gatewayUrl: fake.gatewayUrl, botToken: fake.token },
        assistantName: config.assistantName,
        log: silentLogger(),
      }),
    `dc:${channelId}`,
  );
  await orch.start();
  await waitFor(() => ch.health().state === "connected" && fake.online, "discord connected");

  fake.message({ content: "just chatting" });
  await waitFor(() => store.messages.count() === 1, "chatter stored");
  expect(runner.starts).toHaveLength(0);

  fake.message({ content: `<@${fake.botId}> long please`, mentions: [fake.botId] });
  await waitFor(() => fake.sent.map((s) => s.content).join("\n\n") === LONG, "long reply", 15_000);
  expect(runner.starts).toHaveLength(1);
  expect(runner.starts[0]!.input.prompt).toContain("@Andy long please");
  expect(runner.starts[0]!.input.prompt).toContain("just chatting");
  expect(fake.sent.every((s) => s.channelId === channelId)).toBe(true);
  for (const s of fake.sent) expect(s.content.length).toBeLessThanOrEqual(2000);
  expect(fake.sent.length).toBeGreaterThan(3);
});
