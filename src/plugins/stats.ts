/**
 * Per plugin, per hook counters: calls, failures by kind, time spent, and the actions taken
 * (drop, cancel, suppress). Rendered for `/metrics` and shown by `ngb plugins list` / the dashboard.
 */

export type FailureKind = "error" | "timeout" | "invalid";

export interface HookStats {
  calls: number;
  failures: number;
  timeouts: number;
  invalid: number;
  /** Handler time in ms (successful and failed calls). */
  totalMs: number;
  /** Drops, cancels and suppressions. */
  actions: number;
}

export const newHookStats = (): HookStats => ({
  calls: 0,
  failures: 0,
  timeouts: 0,
  invalid: 0,
  totalMs: 0,
  actions: 0,
});

export interface StatsSource {
  name: string;
  active: boolean;
  stats: Map<string, HookStats>;
}

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** Prometheus text lines for every plugin (empty families when there are none). */
export function renderPluginMetrics(plugins: Iterable<StatsSource>): string {
  const calls: string[] = [];
  const fails: string[] = [];
  const dur: string[] = [];
  const actions: string[] = [];
  const up: string[] = [];
  for (const p of plugins) {
    const pl = `plugin="${esc(p.name)}"`;
    up.push(`ngb_plugin_enabled{${pl}} ${p.active ? 1 : 0}`);
    for (const [hook, s] of p.stats) {
      const l = `${pl},hook="${esc(hook)}"`;
      calls.push(`ngb_plugin_hook_calls_total{${l}} ${s.calls}`);
      const errors = s.failures - s.timeouts - s.invalid;
      fails.push(
        `ngb_plugin_hook_failures_total{${l},kind="error"} ${errors}`,
        `ngb_plugin_hook_failures_total{${l},kind="timeout"} ${s.timeouts}`,
        `ngb_plugin_hook_failures_total{${l},kind="invalid"} ${s.invalid}`,
      );
      dur.push(
        `ngb_plugin_hook_duration_seconds_sum{${l}} ${(s.totalMs / 1000).toFixed(6)}`,
        `ngb_plugin_hook_duration_seconds_count{${l}} ${s.calls}`,
      );
      actions.push(`ngb_plugin_hook_actions_total{${l}} ${s.actions}`);
    }
  }
  return [
    "# HELP ngb_plugin_enabled 1 when the plugin is loaded and active",
    "# TYPE ngb_plugin_enabled gauge",
    ...up,
    "# HELP ngb_plugin_hook_calls_total Plugin handler calls, by plugin and hook",
    "# TYPE ngb_plugin_hook_calls_total counter",
    ...calls,
    "# HELP ngb_plugin_hook_failures_total Handler calls skipped: threw (error), over budget (timeout), wrong result (invalid)",
    "# TYPE ngb_plugin_hook_failures_total counter",
    ...fails,
    "# HELP ngb_plugin_hook_duration_seconds Time spent in plugin handlers",
    "# TYPE ngb_plugin_hook_duration_seconds summary",
    ...dur,
    "# HELP ngb_plugin_hook_actions_total Messages dropped, replies cancelled and results suppressed by plugins",
    "# TYPE ngb_plugin_hook_actions_total counter",
    ...actions,
  ].join("\n");
}
