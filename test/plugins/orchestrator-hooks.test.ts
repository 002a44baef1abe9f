/**
 * Every hook through the real orchestrator (memory channel, fake agent runner): a plugin that
 * drops, rewrites, adds context, suppresses, cancels; the four built-ins; a broken plugin that
 * leaves the pipeline running.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { Config } from "../../src/config/index.ts";
import { createEventBus } from "../../src/events/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createOrchestrator, type Orchestrator } from "../../src/orchestrator/index.ts";
import { BUILTINS } from "../../src/plugins/builtins/index.ts";
import {
  createPluginHost,
  definePlugin,
  type PluginDefinition,
  type PluginHost,
} from "../../src/plugins/index.ts";
import { createGroupQueue } from "../../src/queue/index.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { createFakeRunner, type FakeRunner } from "../fakes/agent-runner.ts";
import { createMemoryChannel, type MemoryChannel } from "../fakes/memory-channel.ts";
import { until } from "../support/wait.ts";

interface Rig {
  store: Store;
  runner: FakeRunner;
  channel: MemoryChannel;
  orch: Orchestrator;
  host: PluginHost;
}
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(plugins: PluginDefinition[], config: Record<string, unknown> = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-plug-orch-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
    maxRetries: 0,
    retryBaseMs: 5,
  });
  const store = openStore(join(dir, "store", "ngb.db"));
  cleanups.push(() => store.close());
  const events = createEventBus();
  const log = silentLogger();
  const runner = createFakeRunner();
  const channel = createMemoryChannel();
  let orch: Orchestrator | null = null;
  let n = 0;
  const host = createPluginHost({
    log,
    options: {
      dir: join(dir, "plugins"),
      enabled: plugins.map((p) => p.name),
      config,
      maxFailures: 3,
      watch: false,
      cacheDir: join(dir, "cache"),
    },
    builtins: plugins,
    send: async (jid, text, plugin) => {
      await orch!.deliver({
        chatJid: jid,
        text,
        idemKey: `plugin:${plugin}:${++n}`,
        source: "plugin",
        plugin,
      });
    },
    read: {
      groupOf: () => null,
      recentMessages: (jid, limit) => store.messages.page(jid, undefined, limit).reverse(),
    },
  });
  await host.start();
  cleanups.push(() => host.stop());
  const queue = createGroupQueue({ maxConcurrent: 2, maxRetries: 0, retryBaseMs: 5, log, events });
  orch = createOrchestrator({
    config: cfg,
    store,
    events,
    queue,
    runner,
    channels: [channel],
    log,
    sendBackoffMs: [1, 1],
    hooks: host.hooks,
  });
  cleanups.push(() => orch!.stop());
  await orch.start();
  store.groups.add({
    jid: "mem:g1",
    name: "G1",
    folder: "g1",
    triggerPattern: null,
    requiresTrigger: true,
    isMain: false,
    containerConfig: null,
  });
  return { store, runner, channel, orch, host };
}

const lastStored = (s: Store) => s.messages.since("mem:g1", 0).at(-1)!;

test("message.received drops and rewrites; agent.starting adds context; agent.result and message.sending change the reply", async () => {
  const shaper = definePlugin({
    name: "shaper",
    version: "1",
    setup(api) {
      api.on("message.received", (m) =>
        m.content.includes("spam") ? { drop: "spam" } : { content: m.content.replace("darn", "****") },
      );
      api.on("agent.starting", (m) => ({ context: `<note group="${m.group.folder}">be brief</note>` }));
      api.on("agent.result", (m) =>
        m.text?.includes("SECRET") ? { suppress: "leak" } : { text: `${m.text} [checked]` },
      );
      api.on("message.sending", (m) => ({ text: m.text.replace("echo:", "ECHO:") }));
    },
  });
  const r = await rig([shaper]);
  await r.channel.receive("mem:g1", "@Andy buy spam now");
  // Dropped: stored as it came, marked with the plugin and the reason, never agent input.
  expect(lastStored(r.store)).toMatchObject({ content: "@Andy buy spam now", isBot: false });
  expect(lastStored(r.store).droppedBy).toStartWith("shaper: ");
  await r.channel.receive("mem:g1", "@Andy darn it");
  expect(lastStored(r.store).content).toBe("@Andy **** it");
  const [reply] = await r.channel.waitForSent(1);
  const prompt = r.runner.starts[0]!.input.prompt;
  expect(prompt).toStartWith('<note group="g1">be brief</note>\n\n');
  expect(prompt).toContain("**** it");
  expect(prompt).not.toContain("spam");
  expect(reply!.text).toStartWith("ECHO: ");
  expect(reply!.text).toEndWith(" [checked]");
});

test("agent.result suppression delivers nothing; the cursor still advances", async () => {
  const quiet = definePlugin({
    name: "quiet",
    version: "1",
    setup: (api) => api.on("agent.result", () => ({ suppress: "quiet hours" })),
  });
  const r = await rig([quiet]);
  await r.channel.receive("mem:g1", "@Andy hello");
  const seq = r.store.messages.latestSeq("mem:g1");
  await until(() => r.store.groups.cursor("mem:g1") === seq);
  expect(r.channel.sent).toEqual([]);
});

test("built-ins: allowlist, rate-limiter, auto-reply and mention through the pipeline", async () => {
  const r = await rig([...BUILTINS], {
    allowlist: { groups: { g1: ["ann", "bob"] } },
    "rate-limiter": { perSenderPerMinute: 2, perChatPerMinute: 100, notice: "slow down" },
    "auto-reply": { rules: [{ keywords: ["hours"], reply: "We open at 9, {sender}." }] },
    mention: { names: ["robo"] },
  });
  // allowlist: eve may not talk to the bot.
  await r.channel.receive("mem:g1", "@Andy hi", { sender: "eve", senderName: "Eve" });
  expect(lastStored(r.store).droppedBy).toStartWith("allowlist: ");
  // auto-reply: answered without an agent.
  await r.channel.receive("mem:g1", "what are your hours?", { sender: "ann", senderName: "Ann" });
  const [auto] = await r.channel.waitForSent(1);
  expect(auto!.text).toBe("We open at 9, Ann.");
  expect(r.runner.starts).toHaveLength(0);
  // mention: "robo" triggers like an @-mention.
  await r.channel.receive("mem:g1", "hey robo, 2+2?", { sender: "bob", senderName: "Bob" });
  expect(lastStored(r.store).mentionsBot).toBe(true);
  await r.channel.waitForSent(2);
  expect(r.runner.starts).toHaveLength(1);
  // rate-limiter: bob's third message in a minute is dropped, with one notice.
  await r.channel.receive("mem:g1", "again", { sender: "bob", senderName: "Bob" });
  await r.channel.receive("mem:g1", "and again", { sender: "bob", senderName: "Bob" });
  const stored = r.store.messages.since("mem:g1", 0);
  expect(stored.find((m) => m.content === "again")?.droppedBy).toBeNull();
  expect(stored.find((m) => m.content === "and again")?.droppedBy).toStartWith("rate-limiter: ");
  await until(() => r.channel.sent.some((s) => s.text === "slow down"));
  const st = r.host.get("rate-limiter");
  expect(st.hooks[0]).toMatchObject({ hook: "message.received" });
  expect(st.calls).toBeGreaterThan(0);
});

test("a broken plugin never breaks the pipeline and is disabled after repeated failures", async () => {
  const broken = definePlugin({
    name: "broken",
    version: "1",
    setup(api) {
      api.on("message.received", () => {
        throw new Error("kaput");
      });
      api.on("agent.starting", () => new Promise(() => {}), { timeoutMs: 20 });
    },
  });
  const r = await rig([broken]);
  await r.channel.receive("mem:g1", "@Andy one");
  await r.channel.waitForSent(1);
  await r.channel.receive("mem:g1", "@Andy two");
  await r.channel.waitForSent(2);
  expect(r.host.get("broken").status).toBe("failed");
  expect(r.channel.sent).toHaveLength(2);
  // A redelivered message id is not run through the hooks again nor stored twice.
  expect(await r.channel.receive("mem:g1", "no trigger", { id: "dup-1" })).toBe(true);
  expect(await r.channel.receive("mem:g1", "no trigger", { id: "dup-1" })).toBe(false);
  expect(r.store.messages.since("mem:g1", 0).filter((m) => m.id === "dup-1")).toHaveLength(1);
});
