/**
 * Chats the Slack and WhatsApp channels discover (the bot joined a channel, was added to a
 * group, or simply received a message) show up in `ngb groups list --discovered`, with the
 * right channel name, and disappear from it once registered.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createSlackChannel } from "../../src/channels/slack/channel.ts";
import { createWhatsAppChannel } from "../../src/channels/whatsapp/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { ChannelSink } from "../../src/orchestrator/channel.ts";
import { openStore } from "../../src/store/index.ts";
import { createFakeSlack, type FakeSlack, slackTs } from "../fakes/slack.ts";
import * as wa from "../fakes/whatsapp-events.ts";
import { runNgb, tempWorkdir } from "../support/ngb.ts";
import { waitFor } from "./support.ts";

let fake: FakeSlack | null = null;
afterEach(async () => {
  await fake?.stop();
  fake = null;
});

test("slack and whatsapp discoveries are listed by ngb groups list --discovered", async () => {
  using work = tempWorkdir("ngb-discovered-");
  mkdirSync(join(work.dir, "store"), { recursive: true });
  const store = openStore(join(work.dir, "store", "ngb.db"));
  // One sink per channel, as serve has: the store records the sink's channel name.
  const sinkOf = (channel: string): ChannelSink => ({
    inbound: async (m) => store.messages.insert(m, Date.now(), channel) !== null,
    discovered: (c) => store.messages.discoverChat(c, Date.now(), channel),
    status: () => {},
  });
  fake = createFakeSlack();
  const slack = createSlackChannel({
    apiBaseUrl: fake.apiBaseUrl,
    botToken: fake.botToken,
    appToken: fake.appToken,
    assistantName: "Andy",
    log: silentLogger(),
  });
  const fakeWa = wa.createFakeBaileys();
  const whatsapp = createWhatsAppChannel({
    authDir: join(work.dir, "store", "whatsapp-auth"),
    assistantName: "Andy",
    log: silentLogger(),
    baileys: async () => fakeWa.api,
    print: () => {},
  });
  try {
    await slack.connect(sinkOf("slack"));
    await whatsapp.connect(sinkOf("whatsapp"));
    fakeWa.latest().open();
    fake.pushEvent({
      type: "member_joined_channel",
      user: fake.botUserId,
      channel: "C0JOINED",
      channel_type: "C",
    });
    fake.pushEvent(fake.message({ channel: "C0CHATTY", text: "hi", ts: slackTs() }));
    fakeWa.latest().emit("groups.upsert", wa.groupsUpsert);
    fakeWa.latest().emit("messages.upsert", { type: "notify", messages: [wa.textDm] });
    await waitFor(() => fake!.pendingCount === 0 && store.messages.chat(wa.ALICE) !== null, "events handled");
  } finally {
    await slack.disconnect();
    await whatsapp.disconnect();
  }
  store.groups.add({
    jid: "slack:C0CHATTY",
    name: "chatty",
    folder: "chatty",
    triggerPattern: null,
    requiresTrigger: true,
    isMain: false,
    containerConfig: null,
  });
  // A chat stored without a channel name (before the store took it from the sink) is named by
  // the registry's jid rules.
  store.messages.discoverChat({ jid: "dc:3000000000000000009", name: "old row" });
  store.close();

  const r = await runNgb(["groups", "list", "--discovered", "--json"], { cwd: work.dir });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const chats = (JSON.parse(r.stdout) as { jid: string; channel: string; name: string | null }[]).map((c) => [
    c.jid,
    c.channel,
    c.name,
  ]);
  expect(chats.sort()).toEqual(
    [
      ["slack:C0JOINED", "slack", null],
      ["dc:3000000000000000009", "discord", "old row"],
      [wa.GROUP, "whatsapp", "Project chat"],
      [wa.ALICE, "whatsapp", null],
    ].sort(),
  );
});
