/**
 * Plugins: typed hooks on the message and agent path, the built-ins, external plugins loaded
 * (and hot-reloaded) from the plugins directory, and the host the orchestrator calls.
 */
export { DEFAULT_TIMEOUT_MS, MAX_SEND_DEPTH, type PluginReadDeps } from "./api.ts";
export {
  PluginConfigError,
  PluginDefinitionError,
  PluginError,
  PluginNotFoundError,
  PluginReentryError,
  PluginResultError,
  PluginTimeoutError,
} from "./errors.ts";
export {
  createPluginHost,
  type PluginHost,
  type PluginHostDeps,
  type PluginHostOptions,
  type PluginStatus,
  pluginCacheDir,
} from "./host.ts";
export { type PipelineHooks, noopHooks } from "./pipeline.ts";
export { testPlugin } from "./testing.ts";
export { CHANGING_HOOKS, definePlugin, HOOK_NAMES, OBSERVING_HOOKS } from "./define.ts";
export type * from "./types.ts";
