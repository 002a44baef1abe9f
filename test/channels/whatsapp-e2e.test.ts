/**
 * End to end through the real orchestrator with a fake baileys socket: a WhatsApp group message
 * that @-mentions the bot → stored → agent (fake runner) → reply sent with sock.sendMessage to
 * the group. The owner's own (fromMe) messages are stored but do not trigger.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { createWhatsAppChannel } from "../../src/channels/whatsapp/index.ts";
import { Config } from "../../src/config/index.ts";
import { createEventBus } from "../../src/events/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createOrchestrator, type Orchestrator } from "../../src/orchestrator/index.ts";
import { createGroupQueue } from "../../src/queue/index.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { createFakeRunner } from "../fakes/agent-runner.ts";
import * as wa from "../fakes/whatsapp-events.ts";
import { waitFor } from "./support.ts";

let dir: string;
let store: Store;
let orch: Orchestrator;

afterEach(async () => {
  await orch?.stop();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("whatsapp mention → agent runs → reply sent to the group", async () => {
  dir = mkdtempSync(join(tmpdir(), "ngb-wa-e2e-"));
  const config = v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
    retryBaseMs: 5,
  });
  store = openStore(join(dir, "ngb.db"));
  const log = silentLogger();
  const events = createEventBus();
  const runner = createFakeRunner({
    respond: () => [{ status: "success", result: "four", newSessionId: "s1" }],
  });
  const queue = createGroupQueue({ maxConcurrent: 2, maxRetries: 1, retryBaseMs: 5, log, events });
  const fake = wa.createFakeBaileys();
  const channel = createWhatsAppChannel({
    authDir: join(dir, "store", "whatsapp-auth"),
    assistantName: config.assistantName,
    log,
    baileys: async () => fake.api,
    print: () => {},
  });
  store.groups.add({
    jid: wa.GROUP,
    name: "project",
    folder: "project",
    triggerPattern: null,
    requiresTrigger: true,
    isMain: false,
    containerConfig: null,
  });
  orch = createOrchestrator({ config, store, events, queue, runner, channels: [channel], log });
  await orch.start();
  await waitFor(() => fake.sockets.length === 1, "socket made");
  const sock = fake.latest();
  sock.open();
  sock.emit("messages.upsert", { type: "notify", messages: [wa.fromMe] });
  sock.emit("messages.upsert", { type: "notify", messages: [wa.extendedWithMention] });
  await waitFor(() => sock.sent.length === 1, "reply sent");
  expect(sock.sent[0]).toEqual({ jid: wa.GROUP, text: "four" });
  expect(runner.starts).toHaveLength(1);
  expect(runner.starts[0]!.input.prompt).toContain("@Andy can you summarise?");
});
