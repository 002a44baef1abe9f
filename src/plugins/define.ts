/** The runtime half of the author API: `definePlugin` and the hook name lists. */
import type { AnySchema, ChangingHook, HookName, PluginDefinition } from "./types.ts";

export const CHANGING_HOOKS: readonly ChangingHook[] = [
  "message.received",
  "message.sending",
  "agent.starting",
  "agent.result",
];
export const OBSERVING_HOOKS: readonly HookName[] = [
  "message.sent",
  "task.running",
  "task.finished",
  "group.registered",
  "serve.started",
  "serve.stopping",
];
export const HOOK_NAMES: readonly HookName[] = [...CHANGING_HOOKS, ...OBSERVING_HOOKS];

/** Declare a plugin with typed config: `export default definePlugin({ … })`. */
export function definePlugin<S extends AnySchema>(def: PluginDefinition<S>): PluginDefinition<S> {
  return def;
}
