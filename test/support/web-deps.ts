/** Deps for a web app built without a runtime (tests, benches): nothing running, a real group service. */
import type { EventBus } from "../../src/events/index.ts";
import { createGroupService } from "../../src/groups/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { Store } from "../../src/store/index.ts";
import type { RuntimeStatus, WebDeps } from "../../src/web/app.ts";

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

export function webDeps(
  base: { store: Store; events: EventBus; token: string; groupsDir: string },
  over: Partial<WebDeps> = {},
): WebDeps {
  const { store, events, token, groupsDir } = base;
  return {
    store,
    events,
    token,
    log: silentLogger(),
    ready: () => true,
    runtime: idleRuntime(),
    groups: createGroupService({ store, events, paths: { groupsDir } }),
    ...over,
  };
}
