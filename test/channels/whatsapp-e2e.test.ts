/**
 * End to end through the real orchestrator with a fake baileys socket: a WhatsApp group message
 * that @-mentions the bot → stored → agent (fake runner) → reply sent with sock.sendMessage to
 * the group. The owner's own (fromMe) messages are stored but do not trigger.
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { createWhatsAppChannel } from "../../src/channels/whatsapp/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import * as wa from "../fakes/whatsapp-events.ts";
import { createLoopRig, type LoopRig, waitFor } from "./support.ts";

let rig: LoopRig | undefined;

afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

test("whatsapp mention → agent runs → reply sent to the group", async () => {
  const fake = wa.createFakeBaileys();
  rig = createLoopRig({
    prefix: "ngb-wa-e2e-",
    jid: wa.GROUP,
    respond: () => [{ status: "success", result: "four", newSessionId: "s1" }],
    channel: (config) =>
      createWhatsAppChannel({
        authDir: join(config.storeDir, "whatsapp-auth"),
        assistantName: config.assistantName,
        log: silentLogger(),
        baileys: async () => fake.api,
        print: () => {},
      }),
  });
  const { orch, runner } = rig;
  await orch.start();
  await waitFor(() => fake.sockets.length === 1, "socket made");
  const sock = fake.latest();
  sock.open();
  sock.emit("messages.upsert", { type: "notify", messages: [wa.fromMe] });
  sock.emit("messages.upsert", { type: "notify", messages: [wa.extendedWithMention] });
  await waitFor(() => sock.sent.length === 1, "reply sent");
  expect(sock.sent[0]).toMatchObject({ jid: wa.GROUP, text: "four" });
  expect(runner.starts).toHaveLength(1);
  expect(runner.starts[0]!.input.prompt).toContain("@Andy can you summarise?");
});
