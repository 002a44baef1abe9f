/** What the host keeps per plugin, and the status view of it (API, CLI, dashboard). */
import type { Entry } from "./dispatch.ts";
import type { PluginSource } from "./loader.ts";
import type { HookStats } from "./stats.ts";
import type { TimerScope } from "./timers.ts";
import type { HookName, PluginDefinition, Teardown } from "./types.ts";

export type PluginStatusName = "enabled" | "disabled" | "failed" | "error";

export interface PluginStatus {
  name: string;
  version: string | null;
  description: string | null;
  source: "builtin" | "external";
  file: string | null;
  /** enabled (running), disabled (by config or user), failed (disabled after failing), error (won't load). */
  status: PluginStatusName;
  hooks: {
    hook: HookName;
    priority: number;
    timeoutMs: number;
    calls: number;
    failures: number;
    avgMs: number;
  }[];
  calls: number;
  failures: number;
  lastError: { message: string; at: number } | null;
  loadedAt: number | null;
}

export interface PluginRecord {
  /** The plugin's name, or `file:<id>` for a file that never loaded. */
  key: string;
  source: "builtin" | "external";
  src?: PluginSource;
  def: PluginDefinition | null;
  active: boolean;
  entries: Entry[];
  teardown: Teardown | null;
  timers: TimerScope | null;
  /** Failures in a row. */
  streak: number;
  lastError: { message: string; at: number } | null;
  loadError: string | null;
  autoDisabled: string | null;
  stats: Map<string, HookStats>;
  loadedAt: number | null;
}

export const nameOf = (r: PluginRecord) => r.def?.name ?? r.key;

export function newRecord(key: string, source: PluginRecord["source"], src?: PluginSource): PluginRecord {
  return {
    key,
    source,
    src,
    def: null,
    active: false,
    entries: [],
    teardown: null,
    timers: null,
    streak: 0,
    lastError: null,
    loadError: null,
    autoDisabled: null,
    stats: new Map(),
    loadedAt: null,
  };
}

export function toStatus(r: PluginRecord, wantsEnabled: boolean): PluginStatus {
  let calls = 0;
  let failures = 0;
  for (const s of r.stats.values()) {
    calls += s.calls;
    failures += s.failures;
  }
  const status: PluginStatusName = r.active
    ? "enabled"
    : r.autoDisabled
      ? "failed"
      : r.loadError && wantsEnabled
        ? "error"
        : "disabled";
  return {
    name: nameOf(r),
    version: r.def?.version ?? null,
    description: r.def?.description ?? null,
    source: r.source,
    file: r.src?.path ?? null,
    status,
    hooks: r.entries.map((e) => ({
      hook: e.hook,
      priority: e.priority,
      timeoutMs: e.timeoutMs,
      calls: e.stats.calls,
      failures: e.stats.failures,
      avgMs: e.stats.calls ? Math.round((e.stats.totalMs / e.stats.calls) * 1000) / 1000 : 0,
    })),
    calls,
    failures,
    lastError: r.lastError,
    loadedAt: r.loadedAt,
  };
}
