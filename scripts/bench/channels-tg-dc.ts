/**
 * Telegram and Discord inbound throughput: the fake platform queues / emits N messages; measured
 * from the first emit until N rows are in a real SQLite store. Telegram's offsets advance only
 * after each insert (getUpdates batches of 100); Discord's dispatches are stored one at a time,
 * in order, before the resume seq advances. Fake and adapter share one process (and its
 * 2 cores), so these are lower bounds.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDiscordChannel } from "../../src/channels/discord/index.ts";
import { createTelegramChannel } from "../../src/channels/telegram/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { ChannelSink } from "../../src/orchestrator/channel.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { createFakeDiscord } from "../../test/fakes/discord.ts";
import { createFakeTelegram } from "../../test/fakes/telegram.ts";

const N = 5_000;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function tempStore(prefix: string): { store: Store; sink: ChannelSink; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = openStore(join(dir, "ngb.db"));
  return {
    store,
    sink: {
      inbound: async (m) => store.messages.insert(m) !== null,
      discovered: (c) => store.messages.discoverChat(c),
      status: () => {},
    },
    dispose() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await Bun.sleep(1);
  }
}

async function telegramInbound(): Promise<string> {
  const t = tempStore("ngb-bench-tg-");
  const fake = createFakeTelegram();
  const channel = createTelegramChannel({
    config: {
      apiBaseUrl: fake.url,
      botToken: fake.token,
      mode: "polling",
      webhookPath: "/hooks/telegram",
      pollTimeoutSec: 30,
    },
    log: silentLogger(),
  });
  try {
    await channel.connect(t.sink);
    fake.pushMany(-1001, 200, (i) => `warm ${i}`);
    await until(() => t.store.messages.count() === 200, 20_000, "telegram warm-up");
    const start = performance.now();
    fake.pushMany(-1002, N, (i) => `message ${i} with some text`);
    await until(() => t.store.messages.count() === 200 + N, 60_000, "telegram: all stored");
    const secs = (performance.now() - start) / 1000;
    return `${fmt(N / secs)} msg/s (${fmt(N)} in ${secs.toFixed(2)} s)`;
  } finally {
    await channel.disconnect();
    fake.stop();
    t.dispose();
  }
}

async function discordInbound(): Promise<string> {
  const t = tempStore("ngb-bench-dc-");
  const fake = createFakeDiscord();
  const channel = createDiscordChannel({
    config: { apiBaseUrl: fake.apiBaseUrl, gatewayUrl: fake.gatewayUrl, botToken: fake.token },
    log: silentLogger(),
  });
  try {
    await channel.connect(t.sink);
    await until(() => channel.health().state === "connected" && fake.online, 20_000, "discord ready");
    for (let i = 0; i < 200; i++) fake.message({ content: `warm ${i}` });
    await until(() => t.store.messages.count() === 200, 20_000, "discord warm-up");
    const start = performance.now();
    for (let i = 0; i < N; i++)
      fake.message({ channelId: "3000000000000000009", content: `message ${i} with some text` });
    await until(() => t.store.messages.count() === 200 + N, 60_000, "discord: all stored");
    const secs = (performance.now() - start) / 1000;
    return `${fmt(N / secs)} msg/s (${fmt(N)} in ${secs.toFixed(2)} s)`;
  } finally {
    await channel.disconnect();
    fake.stop();
    t.dispose();
  }
}

export async function bench(): Promise<Record<string, string>> {
  return {
    "telegram inbound (fake getUpdates → store)": await telegramInbound(),
    "discord inbound (fake gateway → store)": await discordInbound(),
  };
}

if (import.meta.main) console.log(await bench());
