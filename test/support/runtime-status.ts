/** A runtime status for web apps built without a runtime (tests, benches): nothing running, all overridable. */
import type { RuntimeStatus } from "../../src/web/app.ts";

export function idleRuntime(over: Partial<RuntimeStatus> = {}): RuntimeStatus {
  return {
    containers: () => [],
    stopContainer: async () => false,
    queue: () => ({ active: 0, waiting: 0 }),
    channels: () => [],
    uptimeMs: () => 0,
    ...over,
  };
}
