/**
 * WeCom and QQ channel figures:
 * - inbound throughput: WeCom — the fake pushes N `aibot_msg_callback` frames over the AI-bot
 *   long connection; QQ — the fake gateway dispatches N C2C/group events (each stored before the
 *   seq advances). Measured from the first push until N rows are in a real SQLite store. Fake
 *   and adapter share one process (and its 2 cores), so these are lower bounds.
 * - idle RSS of `ngb serve` (compiled binary) with no platform channel, then with WeCom (AI-bot
 *   connection open to the fake) and with QQ (gateway connected to the fake), median of 3 each.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { systemClock } from "../../src/channels/kit/clock.ts";
import { createQqChannel } from "../../src/channels/qq/channel.ts";
import { createWecomChannel } from "../../src/channels/wecom/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { ChannelSink } from "../../src/orchestrator/channel.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { startFakeQq } from "../../test/fakes/qq.ts";
import { startFakeWecom } from "../../test/fakes/wecom.ts";

const N = 5_000;
const ROOT = join(import.meta.dir, "../..");
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function until(pred: () => boolean, timeoutMs: number, what: string) {
  const deadline = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await Bun.sleep(2);
  }
}

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
    await until(() => store.messages.count() === 50, 10_000, "warm-up");
    const start = performance.now();
    for (let i = 0; i < N; i++)
      fake.pushMessage(
        i % 2
          ? { userid: `user${i % 20}`, text: `message ${i} with some text` }
          : { chattype: "group", chatid: `wrg${i % 5}`, userid: `user${i % 20}`, text: `@Bot message ${i}` },
      );
    await until(() => store.messages.count() === 50 + N, 60_000, "all stored");
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
    await until(() => store.messages.count() === N, 60_000, "all stored");
    const secs = (performance.now() - start) / 1000;
    return `${fmt(N / secs)} msg/s (${fmt(N)} in ${secs.toFixed(2)} s)`;
  } finally {
    await channel.disconnect();
    await fake.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** A fresh binary in `dir` (dist/ may predate these channels); else run from source. */
function serveArgv(dir: string): { argv: string[]; kind: string } {
  const out = join(dir, "ngb");
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

async function idleRss(argv: string[], which: "none" | "wecom" | "qq"): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-wq-rss-"));
  const wc = startFakeWecom();
  const qq = startFakeQq({ heartbeatMs: 30_000 });
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, ".xdg"),
    NGB_LOG_LEVEL: "warn",
    NGB_DATA_DIR: join(dir, "data"),
    NGB_STORE_DIR: join(dir, "store"),
    NGB_GROUPS_DIR: join(dir, "groups"),
    NGB_WEB_PORT: String(probe.port),
    ...(which === "wecom"
      ? {
          NGB_CHANNELS_WECOM_ENABLED: "true",
          NGB_CHANNELS_WECOM_WS_URL: wc.wsUrl,
          NGB_CHANNELS_WECOM_BOT_ID: "bot-1",
          NGB_CHANNELS_WECOM_BOT_SECRET: "bot-secret-1",
        }
      : {}),
    ...(which === "qq"
      ? {
          NGB_CHANNELS_QQ_ENABLED: "true",
          NGB_CHANNELS_QQ_MODE: "gateway",
          NGB_CHANNELS_QQ_APP_ID: qq.appId,
          NGB_CHANNELS_QQ_APP_SECRET: qq.secret,
          NGB_CHANNELS_QQ_API_BASE_URL: qq.url,
          NGB_CHANNELS_QQ_TOKEN_URL: qq.tokenUrl,
        }
      : {}),
  };
  probe.stop(true);
  const proc = Bun.spawn([...argv, "serve"], { cwd: dir, env, stdout: "ignore", stderr: "ignore" });
  try {
    const deadline = performance.now() + 20_000;
    const ready = async () => {
      if (which === "wecom" && wc.openConnections() === 0) return false;
      if (which === "qq" && qq.identifies === 0) return false;
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
    await wc.stop();
    await qq.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function serveRss(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-wq-bin-"));
  try {
    const { argv, kind } = serveArgv(dir);
    const runs = { none: [] as number[], wecom: [] as number[], qq: [] as number[] };
    for (let i = 0; i < 3; i++)
      for (const which of ["none", "wecom", "qq"] as const) runs[which].push(await idleRss(argv, which));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const base = median(runs.none);
    const w = median(runs.wecom);
    const q = median(runs.qq);
    return {
      [`serve idle RSS, no platform channel (${kind})`]: `${base.toFixed(1)} MB`,
      "serve idle RSS, wecom connected": `${w.toFixed(1)} MB (+${(w - base).toFixed(1)} MB)`,
      "serve idle RSS, qq gateway connected": `${q.toFixed(1)} MB (+${(q - base).toFixed(1)} MB)`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<Record<string, string>> {
  return {
    "wecom inbound (fake AI-bot connection → store)": await wecomInbound(),
    "qq inbound (fake gateway → store, seq advanced per event)": await qqInbound(),
    ...(await serveRss()),
  };
}

if (import.meta.main) console.log(await bench());
