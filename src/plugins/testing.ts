/**
 * `ngb/plugin/testing`: run one plugin in a real host, for a plugin's own tests. Sends are
 * recorded instead of delivered; groups and recent messages come from what the test passes.
 */
import { createLogger } from "../log/index.ts";
import { createPluginHost, type PluginStatus } from "./host.ts";
import type { PipelineHooks } from "./pipeline.ts";
import type { GroupInfo, MessageInfo, PluginDefinition } from "./types.ts";

export interface TestPluginOptions {
  /** The plugin's config (what `plugins.config.<name>` would hold). */
  config?: unknown;
  /** Registered groups the plugin can look up with `api.groupOf`. */
  groups?: GroupInfo[];
  /** Messages per chat for `api.recentMessages`, oldest first. */
  messages?: Record<string, MessageInfo[]>;
  /** Failures in a row before the plugin is disabled (default 5). */
  maxFailures?: number;
  /** Host log level (default "warn"). */
  logLevel?: "silent" | "error" | "warn" | "info" | "debug";
}

export interface TestPlugin {
  /** The hooks as the orchestrator calls them. */
  hooks: PipelineHooks;
  /** What the plugin sent with `api.send`. */
  sent: { jid: string; text: string }[];
  status(): PluginStatus;
  close(): Promise<void>;
}

export async function testPlugin(def: PluginDefinition, opts: TestPluginOptions = {}): Promise<TestPlugin> {
  const sent: { jid: string; text: string }[] = [];
  const host = createPluginHost({
    log: createLogger({ level: opts.logLevel ?? "warn" }),
    options: {
      dir: "",
      enabled: [def.name],
      config: { [def.name]: opts.config },
      maxFailures: opts.maxFailures ?? 5,
      watch: false,
      cacheDir: "",
    },
    builtins: [def],
    send: async (jid, text) => void sent.push({ jid, text }),
    read: {
      groupOf: (jid) => opts.groups?.find((g) => g.jid === jid) ?? null,
      recentMessages: (jid, limit) => (opts.messages?.[jid] ?? []).slice(-limit),
    },
  });
  await host.start();
  const st = host.get(def.name);
  if (st.status !== "enabled") throw new Error(st.lastError?.message ?? `plugin "${def.name}" did not start`);
  return { hooks: host.hooks, sent, status: () => host.get(def.name), close: () => host.stop() };
}
