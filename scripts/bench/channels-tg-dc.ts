/**
 * Telegram and Discord inbound throughput: the fake platform queues / emits N messages; measured
 * from the first emit until N rows are in a real SQLite store. Telegram's offsets advance only
 * after each insert (getUpdates batches of 100); Discord's dispatches are stored one at a time,
 * in order, before the resume seq advances. Fake and adapter share one process (and its
 * 2 cores), so these are lower bounds.
 *
 * Idle RSS of `ngb serve` (a freshly compiled binary) with Telegram + Discord enabled and
 * connected to the fakes, against the same binary with no platform channel: median of 3 each.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createDiscordChannel } from "../../src/channels/discord/channel.ts";
import { createTelegramChannel } from "../../src/channels/telegram/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { ChannelSink } from "../../src/orchestrator/channel.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { createFakeDiscord } from "../../test/fakes/discord.ts";
import { createFakeSlack } from "../../test/fakes/slack.ts";
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

const ROOT = join(import.meta.dir, "../..");

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** Compile a fresh binary (the checked-in dist/ may predate the channels); else run from source. */
async function serveArgv(dir: string): Promise<{ argv: string[]; kind: string }> {
  const out = join(dir, "ngb");
  // build.ts resolves --outfile against the repository root.
  const p = Bun.spawnSync(
    [process.execPath, join(ROOT, "scripts/build.ts"), "--outfile", relative(ROOT, out)],
    {
      cwd: ROOT,
      stdout: "ignore",
      stderr: "ignore",
    },
  );
  if (p.exitCode === 0 && existsSync(out)) return { argv: [out], kind: "compiled binary" };
  return { argv: [process.execPath, join(ROOT, "src/main.ts")], kind: "bun src/main.ts (build failed)" };
}

type ChannelSet = "none" | "tg+dc" | "tg+dc+slack" | "all four";

async function idleRss(argv: string[], set: ChannelSet): Promise<number> {
  const withChannels = set !== "none";
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-rss-"));
  const tg = createFakeTelegram();
  const dc = createFakeDiscord();
  const slack = createFakeSlack();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, ".xdg"),
    NGB_LOG_LEVEL: "warn",
    NGB_DATA_DIR: join(dir, "data"),
    NGB_STORE_DIR: join(dir, "store"),
    NGB_GROUPS_DIR: join(dir, "groups"),
  };
  if (withChannels) {
    Object.assign(env, {
      NGB_CHANNELS_TELEGRAM_ENABLED: "true",
      NGB_CHANNELS_TELEGRAM_API_BASE_URL: tg.url,
      NGB_CHANNELS_TELEGRAM_BOT_TOKEN: tg.token,
      NGB_CHANNELS_DISCORD_ENABLED: "true",
      NGB_CHANNELS_DISCORD_API_BASE_URL: dc.apiBaseUrl,
      NGB_CHANNELS_DISCORD_GATEWAY_URL: dc.gatewayUrl,
      NGB_CHANNELS_DISCORD_BOT_TOKEN: dc.token,
    });
  }
  if (set === "tg+dc+slack" || set === "all four") {
    Object.assign(env, {
      NGB_CHANNELS_SLACK_ENABLED: "true",
      NGB_CHANNELS_SLACK_API_BASE_URL: slack.apiBaseUrl,
      NGB_CHANNELS_SLACK_BOT_TOKEN: slack.botToken,
      NGB_CHANNELS_SLACK_APP_TOKEN: slack.appToken,
    });
  }
  if (set === "all four") {
    // No WhatsApp server can be faked (Noise + Signal handshake): point it at a closed local port,
    // so baileys is loaded and keeps trying, as an enabled-but-unpaired WhatsApp does.
    Object.assign(env, {
      NGB_CHANNELS_WHATSAPP_ENABLED: "true",
      NGB_CHANNELS_WHATSAPP_WA_WEB_SOCKET_URL: "ws://127.0.0.1:9/ws/chat",
      NGB_CHANNELS_WHATSAPP_PRINT_QR: "false",
    });
  }
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  env.NGB_WEB_PORT = String(probe.port);
  probe.stop(true);
  const proc = Bun.spawn([...argv, "serve"], { cwd: dir, env, stdout: "ignore", stderr: "ignore" });
  try {
    const deadline = performance.now() + 20_000;
    const ready = async () => {
      if (withChannels && !(tg.polling && dc.online)) return false;
      if ((set === "tg+dc+slack" || set === "all four") && slack.openSockets === 0) return false;
      try {
        return (await fetch(`http://127.0.0.1:${env.NGB_WEB_PORT}/readyz`)).ok;
      } catch {
        return false;
      }
    };
    while (!(await ready())) {
      if (performance.now() > deadline || proc.exitCode !== null) throw new Error("serve did not come up");
      await Bun.sleep(20);
    }
    await Bun.sleep(2000); // let start-up garbage settle
    return rssMb(proc.pid);
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    tg.stop();
    dc.stop();
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function serveRss(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-bin-"));
  try {
    const { argv, kind } = await serveArgv(dir);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const sets: ChannelSet[] = ["none", "tg+dc", "tg+dc+slack", "all four"];
    const samples = new Map<ChannelSet, number[]>(sets.map((s) => [s, []]));
    for (let i = 0; i < 3; i++) for (const s of sets) samples.get(s)!.push(await idleRss(argv, s));
    const m = (s: ChannelSet) => median(samples.get(s)!);
    const a = m("none");
    const delta = (s: ChannelSet) => `${m(s).toFixed(1)} MB (+${(m(s) - a).toFixed(1)} MB)`;
    return {
      [`serve idle RSS, no platform channel (${kind})`]: `${a.toFixed(1)} MB`,
      "serve idle RSS, telegram + discord connected": delta("tg+dc"),
      "serve idle RSS, + slack connected": delta("tg+dc+slack"),
      "serve idle RSS, + whatsapp enabled (unpaired, baileys loaded)": delta("all four"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<Record<string, string>> {
  return {
    "telegram inbound (fake getUpdates → store)": await telegramInbound(),
    "discord inbound (fake gateway → store)": await discordInbound(),
    ...(await serveRss()),
  };
}

if (import.meta.main) console.log(await bench());
