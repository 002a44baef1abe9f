/**
 * End to end through the real orchestrator: fake Slack → Slack adapter → store → orchestrator →
 * (fake agent runner) → delivery → chat.postMessage at the fake. The bot's echo of its own
 * reply must not trigger another run.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { createSlackChannel } from "../../src/channels/slack/index.ts";
import { Config } from "../../src/config/index.ts";
import { createEventBus } from "../../src/events/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createOrchestrator, type Orchestrator } from "../../src/orchestrator/index.ts";
import { createGroupQueue } from "../../src/queue/index.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { createFakeRunner } from "../fakes/agent-runner.ts";
import { createFakeSlack, type FakeSlack, slackTs } from "../fakes/slack.ts";
import { waitFor } from "./support.ts";

let dir: string;
let fake: FakeSlack;
let store: Store;
let orch: Orchestrator;

afterEach(async () => {
  await orch?.stop();
  await fake?.stop();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("slack message mentioning the bot → agent runs → reply posted to the channel, once", async () => {
  dir = mkdtempSync(join(tmpdir(), "ngb-slack-e2e-"));
  const config = v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
    retryBaseMs: 5,
  });
  fake = createFakeSlack();
  store = openStore(join(dir, "ngb.db"));
  const log = silentLogger();
  const events = createEventBus();
  const runner = createFakeRunner({
    respond: (t) => [{ status: "success", result: `got ${t.input.prompt.length} chars`, newSessionId: "s1" }],
  });
  const queue = createGroupQueue({ maxConcurrent: 2, maxRetries: 1, retryBaseMs: 5, log, events });
  const channel = createSlackChannel({
    apiBaseUrl: fake.apiBaseUrl,
    botToken: fake.botToken,
    appToken: fake.appToken,
    assistantName: config.assistantName,
    log,
  });
  store.groups.add({
    jid: "slack:C0TEAM",
    name: "team",
    folder: "team",
    triggerPattern: null,
    requiresTrigger: true,
    isMain: false,
    containerConfig: null,
  });
  orch = createOrchestrator({ config, store, events, queue, runner, channels: [channel], log });
  await orch.start();
  await waitFor(() => channel.health().state === "connected", "slack connected");

  fake.pushEvent(fake.message({ channel: "C0TEAM", text: "just chatting", ts: slackTs() }));
  // Mentioned mid-sentence: the mention maps to the trigger.
  fake.pushEvent(
    fake.message({ channel: "C0TEAM", text: `what do you think <@${fake.botUserId}>?`, ts: slackTs() }),
  );
  await fake.waitFor(() => fake.posted.length === 1, 10_000, "reply posted");
  expect(fake.posted[0]).toMatchObject({ channel: "C0TEAM", text: expect.stringMatching(/^got \d+ chars$/) });
  expect(runner.starts).toHaveLength(1);
  expect(runner.starts[0]!.input.prompt).toContain("what do you think @Andy?");
  expect(runner.starts[0]!.input.prompt).toContain("just chatting");
  // The echo of the reply is acked and does not start another run.
  await fake.waitFor(() => fake.pendingCount === 0 && fake.acks.length === 3, 5_000, "echo acked");
  expect(runner.starts).toHaveLength(1);
  expect(fake.posted).toHaveLength(1);
});
