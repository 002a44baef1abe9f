/**
 * Plugin figures: what the plugin system adds to the message hot path (stored → agent input) —
 * the hook calls the orchestrator makes per message, message.received + agent.starting — with
 * no plugins (noopHooks) and with the four built-ins enabled; and the reload time of an
 * external plugin (bundle, import, teardown, setup).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/log/index.ts";
import { BUILTINS } from "../../src/plugins/builtins/index.ts";
import { createPluginHost, noopHooks, type PipelineHooks } from "../../src/plugins/index.ts";

const N = 20_000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

async function hotPath(hooks: PipelineHooks): Promise<number[]> {
  const times: number[] = [];
  const group = { folder: "g", jid: "web:g", isMain: false };
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const r = await hooks.messageReceived({
      chatJid: "web:g",
      channel: "web",
      sender: `u${i % 500}`,
      senderName: "User",
      content: `message number ${i} about nothing in particular`,
      isFromMe: false,
      isBot: false,
      mentionsBot: false,
      group: { folder: "g", isMain: false },
    });
    if (r.action === "continue") await hooks.agentStarting({ group, prompt: r.content, kind: "messages" });
    times.push(performance.now() - t0);
  }
  return times.slice(N / 10);
}

export async function bench(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-plugins-"));
  try {
    const none = await hotPath(noopHooks);
    const host = createPluginHost({
      log: silentLogger(),
      options: {
        dir: join(dir, "none"),
        enabled: BUILTINS.map((b) => b.name),
        config: {
          allowlist: { default: ["*"] },
          "rate-limiter": { perChatPerMinute: 1_000_000, perSenderPerMinute: 1_000_000 },
          "auto-reply": {
            rules: [
              { keywords: ["opening hours", "price"], reply: "see the site" },
              { pattern: "^!help$", reply: "help" },
            ],
          },
          mention: { names: ["robo", "assistant"] },
        },
        maxFailures: 5,
        watch: false,
        cacheDir: join(dir, "cache"),
      },
      send: async () => {},
      read: { groupOf: () => null, recentMessages: () => [] },
    });
    await host.start();
    const builtins = await hotPath(host.hooks);
    await host.stop();

    mkdirSync(join(dir, "plugins"));
    const file = join(dir, "plugins", "p.ts");
    const src = (n: number) =>
      `import { definePlugin } from "ngb/plugin";\nexport default definePlugin({ name: "p", version: "${n}", setup(api) { api.on("message.received", (m) => ({ content: m.content + "${n}" })); } });\n`;
    writeFileSync(file, src(0));
    const ext = createPluginHost({
      log: silentLogger(),
      options: {
        dir: join(dir, "plugins"),
        enabled: [],
        config: {},
        maxFailures: 5,
        watch: false,
        cacheDir: join(dir, "cache"),
      },
      builtins: [],
      send: async () => {},
      read: { groupOf: () => null, recentMessages: () => [] },
    });
    await ext.start();
    const reloads: number[] = [];
    for (let i = 1; i <= 30; i++) {
      writeFileSync(file, src(i));
      const t0 = performance.now();
      await ext.reload("p");
      reloads.push(performance.now() - t0);
    }
    await ext.stop();
    return {
      "hot path, no plugins (p50 / p99)": `${us(percentile(none, 50))} / ${us(percentile(none, 99))}`,
      "hot path, 4 built-ins (p50 / p99)": `${us(percentile(builtins, 50))} / ${us(percentile(builtins, 99))}`,
      "overhead of 4 built-ins (p99)": us(percentile(builtins, 99) - percentile(none, 99)),
      "external plugin reload (p50 / max)": `${percentile(reloads, 50).toFixed(1)} ms / ${Math.max(...reloads).toFixed(1)} ms`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(await bench());
