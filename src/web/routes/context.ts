/** What every API route module gets: the deps, the live state and a status view with fallbacks. */
import type { ChannelHealth } from "../../orchestrator/channel.ts";
import type { LiveState } from "../live-state.ts";
import type { RunningContainer, WebDeps } from "../types.ts";

export interface ApiContext {
  deps: WebDeps;
  live: LiveState;
  /** Running agent containers: from the runtime when wired, else from bus events. */
  containers(): RunningContainer[];
  channels(): ChannelHealth[];
  queue(): { active: number; waiting: number } | null;
  /** "runtime" when the runtime provides status, "events" when derived from the event bus. */
  statusSource: "runtime" | "events";
}

export function createApiContext(deps: WebDeps, live: LiveState): ApiContext {
  const rt = deps.runtime;
  return {
    deps,
    live,
    statusSource: rt ? "runtime" : "events",
    containers: () => (rt ? rt.containers() : live.agents()),
    channels: () => {
      if (!rt) return live.channels();
      // The runtime knows every channel; events may add a fresher QR.
      const fromEvents = new Map(live.channels().map((c) => [c.name, c]));
      return rt.channels().map((c) => ({ ...c, qr: c.qr ?? fromEvents.get(c.name)?.qr }));
    },
    queue: () => (rt ? rt.queue() : live.queue()),
  };
}
