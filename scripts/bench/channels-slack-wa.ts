/**
 * Slack and WhatsApp channel figures:
 * - Slack inbound throughput: the fake Slack pushes N Socket Mode envelopes; measured from the
 *   first push until N rows are in a real SQLite store (each acked only after its insert).
 *   Fake and adapter share one process (and its 2 cores), so this is a lower bound.
 * - Baileys cost, in a fresh process: modules loaded by the channel registry plus creating the
 *   Slack and WhatsApp channels (expected: no baileys), then the time and RSS of the lazy
 *   `import("baileys")` that WhatsApp's connect() performs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSlackChannel } from "../../src/channels/slack/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { openStore } from "../../src/store/index.ts";
import { createFakeSlack, slackTs } from "../../test/fakes/slack.ts";

const N = 5_000;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function slackInbound(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-slack-"));
  const store = openStore(join(dir, "ngb.db"));
  const fake = createFakeSlack({ ackTimeoutMs: 60_000 });
  const channel = createSlackChannel({
    apiBaseUrl: fake.apiBaseUrl,
    botToken: fake.botToken,
    appToken: fake.appToken,
    assistantName: "Andy",
    log: silentLogger(),
  });
  try {
    await channel.connect({
      inbound: async (m) => store.messages.insert(m) !== null,
      discovered: (c) => store.messages.discoverChat(c),
      status: () => {},
    });
    // Warm up (users.info cache, JIT) with a few messages outside the measurement.
    for (let i = 0; i < 50; i++)
      fake.pushEvent(fake.message({ channel: "C0WARM", text: `warm ${i}`, ts: slackTs() }));
    await fake.waitFor(() => fake.pendingCount === 0, 10_000, "warm-up");
    const base0 = store.messages.count();
    const start = performance.now();
    for (let i = 0; i < N; i++)
      fake.pushEvent(
        fake.message({ channel: "C0BENCH", text: `message ${i} with some text`, ts: slackTs() }),
      );
    await fake.waitFor(() => store.messages.count() === base0 + N, 60_000, "all stored");
    const secs = (performance.now() - start) / 1000;
    await fake.waitFor(() => fake.pendingCount === 0, 10_000, "all acked");
    return {
      "slack inbound (fake → store, acked)": `${fmt(N / secs)} msg/s (${fmt(N)} in ${secs.toFixed(2)} s)`,
    };
  } finally {
    await channel.disconnect();
    await fake.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function baileysCost(): Promise<Record<string, string>> {
  const script = `
    const loaded = () => Object.keys(require.cache).filter((k) => k.includes("/node_modules/baileys/")).length;
    const v = await import("valibot");
    const { Config } = await import("./src/config/index.ts");
    const { silentLogger } = await import("./src/log/index.ts");
    const { channelDefinition, createChannel } = await import("./src/channels/index.ts");
    const config = v.parse(Config, { storeDir: "/nonexistent-ngb-store" });
    await createChannel(channelDefinition("slack"), { config, log: silentLogger() });
    await createChannel(channelDefinition("whatsapp"), { config, log: silentLogger() });
    const { loadBaileys } = await import("./src/channels/whatsapp/channel.ts");
    Bun.gc(true);
    const rss0 = process.memoryUsage().rss;
    const before = loaded();
    const t0 = performance.now();
    await loadBaileys();
    const ms = performance.now() - t0;
    Bun.gc(true);
    console.log(JSON.stringify({ before, after: loaded(), ms, mb: (process.memoryUsage().rss - rss0) / 2 ** 20 }));
  `;
  const proc = Bun.spawn([process.execPath, "-e", script], {
    cwd: join(import.meta.dir, "../.."),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`baileys probe failed: ${err.trim().split("\n").at(-1)}`);
  const r = JSON.parse(out.trim().split("\n").at(-1)!) as {
    before: number;
    after: number;
    ms: number;
    mb: number;
  };
  return {
    "baileys modules loaded without WhatsApp connect": String(r.before),
    "baileys lazy import (WhatsApp connect only)": `${r.ms.toFixed(0)} ms, +${r.mb.toFixed(1)} MB RSS (${r.after} modules)`,
  };
}

export async function bench(): Promise<Record<string, string>> {
  return { ...(await slackInbound()), ...(await baileysCost()) };
}

if (import.meta.main) console.log(await bench());
