/**
 * Feishu / Lark channel figures:
 * - Inbound throughput: the fake pushes N `im.message.receive_v1` events as binary pbbp2 frames
 *   over the long connection; measured from the first push until N rows are in a real SQLite
 *   store, each acked only after its insert. Fake and adapter share one process (and its two
 *   cores), so this is a lower bound.
 * - Idle RSS of `ngb serve` (dist/ngb) with nothing enabled vs with Feishu connected to the fake
 *   (median of 3 each).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFeishuChannel } from "../../src/channels/feishu/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { openStore } from "../../src/store/index.ts";
import { createFakeFeishu } from "../../test/fakes/feishu.ts";
import { percentile, serveFigures } from "../bench.ts";

const N = 5_000;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function until(cond: () => boolean, ms: number, what: string) {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await Bun.sleep(2);
  }
}

async function inbound(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-feishu-"));
  const store = openStore(join(dir, "ngb.db"));
  const fake = createFakeFeishu({ ackTimeoutMs: 60_000 });
  const channel = createFeishuChannel({
    config: {
      region: "feishu",
      baseUrl: fake.url,
      appId: fake.appId,
      appSecret: fake.appSecret,
      mode: "websocket",
      webhookPath: "/hooks/feishu",
      format: "auto",
      workingReaction: "",
      quoteReplies: "groups",
    },
    assistantName: "Andy",
    log: silentLogger(),
  });
  try {
    await channel.connect({
      inbound: async (m) => store.messages.insert(m) !== null,
      discovered: (c) => store.messages.discoverChat(c),
      status: () => {},
    });
    await until(() => fake.openSockets === 1, 10_000, "long connection");
    const ackedCount = () => fake.acks.filter((a) => a.code === 200).length;
    for (let i = 0; i < 50; i++) fake.push(fake.messageEvent({ chatId: "oc_warm", text: `warm ${i}` }));
    await until(() => ackedCount() === 50, 10_000, "warm-up");
    const base = store.messages.count();
    const events = Array.from({ length: N }, (_, i) =>
      fake.messageEvent({ chatId: "oc_bench", text: `message ${i} with some text` }),
    );
    const start = performance.now();
    for (const e of events) fake.push(e);
    await until(() => store.messages.count() === base + N, 60_000, "all stored");
    const secs = (performance.now() - start) / 1000;
    await until(() => ackedCount() === 50 + N, 10_000, "all acked");
    return {
      "feishu inbound (fake long connection → store, acked)": `${fmt(N / secs)} msg/s (${fmt(N)} in ${secs.toFixed(2)} s)`,
    };
  } finally {
    await channel.disconnect();
    fake.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function idleRss(): Promise<Record<string, string>> {
  const none: number[] = [];
  const withFeishu: number[] = [];
  for (let i = 0; i < 3; i++) {
    none.push((await serveFigures()).rssMb);
    const fake = createFakeFeishu();
    try {
      const f = await serveFigures(
        {
          NGB_CHANNELS_FEISHU_ENABLED: "true",
          NGB_CHANNELS_FEISHU_BASE_URL: fake.url,
          NGB_FEISHU_APP_ID: fake.appId,
          NGB_FEISHU_APP_SECRET: fake.appSecret,
        },
        () => fake.connections > 0,
      );
      withFeishu.push(f.rssMb);
    } finally {
      fake.stop();
    }
  }
  const a = percentile(none, 50);
  const b = percentile(withFeishu, 50);
  return {
    "serve idle RSS, nothing enabled (dist/ngb)": `${a.toFixed(1)} MB`,
    "serve idle RSS, feishu connected": `${b.toFixed(1)} MB (+${(b - a).toFixed(1)} MB)`,
  };
}

export async function bench(): Promise<Record<string, string>> {
  return { ...(await inbound()), ...(await idleRss()) };
}

if (import.meta.main) console.log(await bench());
