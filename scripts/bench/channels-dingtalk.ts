/**
 * DingTalk channel figures:
 * - inbound throughput: the fake DingTalk pushes N robot-message CALLBACK frames over the Stream
 *   WebSocket; measured from the first push until N rows are in a real SQLite store (one insert
 *   per message, each frame acked only after its insert). Fake and adapter share one process
 *   (and its 2 cores), so this is a lower bound.
 * - idle RSS of `ngb serve` (compiled binary) with no platform channel, then with DingTalk
 *   enabled and its Stream connection open to the fake (median of 3 each).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDingTalkChannel } from "../../src/channels/dingtalk/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { openStore } from "../../src/store/index.ts";
import { createFakeDingTalk, type FakeDingTalk } from "../../test/fakes/dingtalk.ts";
import { until } from "../../test/support/wait.ts";
import { percentile, serveFigures } from "../bench.ts";

const N = 5_000;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function inbound(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-dt-"));
  const store = openStore(join(dir, "ngb.db"));
  const fake = createFakeDingTalk({ redeliverAfterMs: 0 });
  const channel = createDingTalkChannel({
    config: { apiBaseUrl: fake.url, clientId: fake.clientId, clientSecret: fake.clientSecret },
    assistantName: "Andy",
    log: silentLogger(),
  });
  try {
    await channel.connect({
      inbound: async (m) => store.messages.insert(m, Date.now(), "dingtalk") !== null,
      discovered: (c) => store.messages.discoverChat(c, Date.now(), "dingtalk"),
      status: () => {},
    });
    for (let i = 0; i < 50; i++) fake.pushRobotMessage({ chat: "user", text: `warm ${i}` });
    await until(() => fake.pendingCount === 0, { what: "warm-up", timeoutMs: 10_000, intervalMs: 2 });
    const base = store.messages.count();
    const start = performance.now();
    for (let i = 0; i < N; i++)
      fake.pushRobotMessage({
        chat: i % 2 ? "user" : "group",
        senderStaffId: `staff${i % 20}`,
        text: `message ${i} with some text`,
      });
    await until(() => store.messages.count() === base + N, {
      what: "all stored",
      timeoutMs: 60_000,
      intervalMs: 2,
    });
    const secs = (performance.now() - start) / 1000;
    await until(() => fake.pendingCount === 0, { what: "all acked", timeoutMs: 10_000, intervalMs: 2 });
    return `${fmt(N / secs)} msg/s (${fmt(N)} in ${secs.toFixed(2)} s)`;
  } finally {
    await channel.disconnect();
    await fake.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function idleRss(withDingTalk: boolean): Promise<number> {
  if (!withDingTalk) return (await serveFigures()).rssMb;
  const fake: FakeDingTalk = createFakeDingTalk();
  try {
    const env = {
      NGB_CHANNELS_DINGTALK_ENABLED: "true",
      NGB_CHANNELS_DINGTALK_API_BASE_URL: fake.url,
      NGB_CHANNELS_DINGTALK_CLIENT_ID: fake.clientId,
      NGB_CHANNELS_DINGTALK_CLIENT_SECRET: fake.clientSecret,
    };
    return (await serveFigures(env, () => fake.openSockets > 0)).rssMb;
  } finally {
    await fake.stop();
  }
}

async function serveRss(): Promise<Record<string, string>> {
  const none: number[] = [];
  const dt: number[] = [];
  for (let i = 0; i < 3; i++) {
    none.push(await idleRss(false));
    dt.push(await idleRss(true));
  }
  const a = percentile(none, 50);
  const b = percentile(dt, 50);
  return {
    "serve idle RSS, no platform channel (dist/ngb)": `${a.toFixed(1)} MB`,
    "serve idle RSS, dingtalk connected": `${b.toFixed(1)} MB (+${(b - a).toFixed(1)} MB)`,
  };
}

export async function bench(): Promise<Record<string, string>> {
  return { "dingtalk inbound (fake stream → store, acked)": await inbound(), ...(await serveRss()) };
}

if (import.meta.main) console.log(await bench());
