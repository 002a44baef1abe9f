/**
 * The hooks the message and agent path calls. The interface is declared with the other plugin
 * types (`src/plugins/types.ts`, a dependency-free file the plugin scaffold ships to authors);
 * the orchestrator only needs its shape, and `noopHooks` (`src/plugins/pipeline.ts`) is what
 * runs without plugins. Neither import loads the plugin host.
 */
export type { PipelineHooks } from "../plugins/types.ts";
export { noopHooks } from "../plugins/pipeline.ts";
