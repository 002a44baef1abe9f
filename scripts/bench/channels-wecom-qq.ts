/**
 * WeCom and QQ channel figures:
 * - inbound throughput: WeCom — the fake pushes N `aibot_msg_callback` frames over the AI-bot
 *   long connection; QQ — the fake gateway dispatches N C2C/group events (each stored before the
 *   seq advances). Measured from the first push until N rows are in a real SQLite store. Fake
 *   and adapter share one process (and its 2 cores), so these are lower bounds.
 * - idle RSS of `ngb serve` (compiled binary) with no platform channel, then with WeCom (AI-bot
 *   connection open to the fake) and with QQ (gateway connected to the fake), median of 3 each.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../../src/channels/kit/clock.ts";
import { createQqChannel } from "../../src/channels/qq/channel.ts";
import { createWecomChannel } from "../../src/channels/wecom/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { ChannelSink } from "../../src/orchestrator/channel.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { startFakeQq } from "../../test/fakes/qq.ts";
import { startFakeWecom } from "../../test/fakes/wecom.ts";
import { until } from "../../test/support/wait.ts";
import { percentile, serveFigures } from "../bench.ts";

const N = 5_000;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function storeSink(store: Store, channel: string): ChannelSink {
  return {
    inbound: async (m) => store.messages.insert(m, Date.now(), channel) !== null,
    discovered: (c) => store.messages.discoverChat(c, Date.now(), channel),
    status: () => {},
  };
}

async function wecomInbound(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-wc-"));
  const store = openStore(join(dir, "ngb.db"));
  const fake = startFakeWecom();
  const channel = createWecomChannel({
    config: {
      mode: "aibot",
      wsUrl: fake.wsUrl,
      botId: "bot-1",
      botSecret: "bot-secret-1",
      apiBaseUrl: fake.url,
      webhookPath: "/hooks/wecom",
      workingText: "",
    },
    assistantName: "Andy",
    log: silentLogger(),
    fetch,
    clock: systemClock,
  });
  try {
    await channel.connect(storeSink(store, "wecom"));
    for (let i = 0; i < 50; i++) fake.pushMessage({ userid: "warm", text: `warm ${i}` });
    await until(() => store.messages.count() === 50, { what: "warm-up", timeoutMs: 10_000, intervalMs: 2 });
    const start = performance.now();
    for (let i = 0; i < N; i++)
      fake.pushMessage(
        i % 2
          ? { userid: `user${i % 20}`, text: `message ${i} with some text` }
          : { chattype: "group", chatid: `wrg${i % 5}`, userid: `user${i % 20}`, text: `@Bot message ${i}` },
      );
    await until(() => store.messages.count() === 50 + N, {
      what: "all stored",
      timeoutMs: 60_000,
      intervalMs: 2,
    });
    const secs = (performance.now() - start) / 1000;
    return `${fmt(N / secs)} msg/s (${fmt(N)} in ${secs.toFixed(2)} s)`;
  } finally {
    await channel.disconnect();
    await fake.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function qqInbound(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-qq-"));
  const store = openStore(join(dir, "ngb.db"));
  const fake = startFakeQq({ heartbeatMs: 30_000 });
  const channel = createQqChannel({
    config: {
      mode: "gateway",
      appId: fake.appId,
      appSecret: fake.secret,
      apiBaseUrl: fake.url,
      tokenUrl: fake.tokenUrl,
      webhookPath: "/hooks/qq",
      intents: (1 << 25) | (1 << 30) | (1 << 12),
      markdown: false,
    },
    assistantName: "Andy",
    log: silentLogger(),
    fetch,
    clock: systemClock,
  });
  try {
    await channel.connect(storeSink(store, "qq"));
    const start = performance.now();
    for (let i = 0; i < N; i++) {
      const ev =
        i % 2
          ? fake.userMessage("c2c", `USER${String(i % 20).padStart(28, "0")}`, `message ${i}`)
          : fake.userMessage("group", `GROUP${String(i % 5).padStart(27, "0")}`, `message ${i}`);
      fake.dispatch(ev.t, ev.d);
    }
    await until(() => store.messages.count() === N, { what: "all stored", timeoutMs: 60_000, intervalMs: 2 });
    const secs = (performance.now() - start) / 1000;
    return `${fmt(N / secs)} msg/s (${fmt(N)} in ${secs.toFixed(2)} s)`;
  } finally {
    await channel.disconnect();
    await fake.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function idleRss(which: "none" | "wecom" | "qq"): Promise<number> {
  if (which === "none") return (await serveFigures()).rssMb;
  if (which === "wecom") {
    const wc = startFakeWecom();
    try {
      const env = {
        NGB_CHANNELS_WECOM_ENABLED: "true",
        NGB_CHANNELS_WECOM_WS_URL: wc.wsUrl,
        NGB_CHANNELS_WECOM_BOT_ID: "bot-1",
        NGB_CHANNELS_WECOM_BOT_SECRET: "bot-secret-1",
      };
      return (await serveFigures(env, () => wc.openConnections() > 0)).rssMb;
    } finally {
      await wc.stop();
    }
  }
  const qq = startFakeQq({ heartbeatMs: 30_000 });
  try {
    const env = {
      NGB_CHANNELS_QQ_ENABLED: "true",
      NGB_CHANNELS_QQ_MODE: "gateway",
      NGB_CHANNELS_QQ_APP_ID: qq.appId,
      NGB_CHANNELS_QQ_APP_SECRET: qq.secret,
      NGB_CHANNELS_QQ_API_BASE_URL: qq.url,
      NGB_CHANNELS_QQ_TOKEN_URL: qq.tokenUrl,
    };
    return (await serveFigures(env, () => qq.identifies > 0)).rssMb;
  } finally {
    await qq.stop();
  }
}

async function serveRss(): Promise<Record<string, string>> {
  const runs = { none: [] as number[], wecom: [] as number[], qq: [] as number[] };
  for (let i = 0; i < 3; i++)
    for (const which of ["none", "wecom", "qq"] as const) runs[which].push(await idleRss(which));
  const base = percentile(runs.none, 50);
  const w = percentile(runs.wecom, 50);
  const q = percentile(runs.qq, 50);
  return {
    "serve idle RSS, no platform channel (dist/ngb)": `${base.toFixed(1)} MB`,
    "serve idle RSS, wecom connected": `${w.toFixed(1)} MB (+${(w - base).toFixed(1)} MB)`,
    "serve idle RSS, qq gateway connected": `${q.toFixed(1)} MB (+${(q - base).toFixed(1)} MB)`,
  };
}

export async function bench(): Promise<Record<string, string>> {
  return {
    "wecom inbound (fake AI-bot connection → store)": await wecomInbound(),
    "qq inbound (fake gateway → store, seq advanced per event)": await qqInbound(),
    ...(await serveRss()),
  };
}

if (import.meta.main) console.log(await bench());
