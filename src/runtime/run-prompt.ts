/**
 * One prompt in a group's container without a running serve (`ngb run`): the runtime's agent
 * core (src/runtime/core.ts) with no channels, so the prompt takes the same path as a prompt
 * through serve (`POST /api/run` → `orchestrator.dispatchPrompt`): the same snapshots (the task
 * service's `current_tasks.json`), the same session handling, the same result filtering. With no
 * channel, pending chat messages are not run here (the orchestrator needs the chat's channel to
 * answer): they wait for serve.
 */
import { join } from "node:path";
import type { Config } from "../config/index.ts";
import type { AgentRunner } from "../container/types.ts";
import { createEventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import type { PromptOutcome } from "../orchestrator/index.ts";
import type { RegisteredGroup, Store } from "../store/index.ts";
import { errorMessage } from "../util/errors.ts";
import { createAgentCore } from "./core.ts";

export interface RunPromptOptions {
  config: Config;
  store: Store;
  log: Logger;
  group: RegisteredGroup;
  prompt: string;
  /** Continue the group's session and save the new one (default: a fresh session, nothing saved). */
  resume?: boolean;
  /** Stop the run after this long. */
  timeoutMs?: number;
  /** Stops the run when aborted (Ctrl-C). */
  signal?: AbortSignal;
  /** Instead of docker + a credential proxy of its own (tests). */
  runner?: AgentRunner;
}

export async function runPrompt(options: RunPromptOptions): Promise<PromptOutcome> {
  const { config, store, log, group } = options;
  const events = createEventBus((err, event) =>
    log.withTag("events").error("listener failed", { event, error: errorMessage(err) }),
  );
  const core = await createAgentCore({
    config,
    store,
    events,
    log,
    channels: [],
    runner: options.runner,
    // A socket of its own: a serve started meanwhile must not find this one in its place.
    proxySocket: join(config.dataDir, "proxy-run", String(process.pid), "proxy.sock"),
  });
  let stopReason: string | null = null;
  const stop = (why: string) => {
    stopReason = why;
    for (const c of core.orchestrator.containers())
      if (c.groupFolder === group.folder) void core.orchestrator.stopContainer(c.name);
  };
  // A stop requested before the container is up takes effect as soon as it is.
  const offStarted = events.on("agent.started", (e) => {
    if (stopReason && e.groupFolder === group.folder) stop(stopReason);
  });
  const onAbort = () => stop("interrupted");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const timer = options.timeoutMs ? setTimeout(() => stop("timeout reached"), options.timeoutMs) : undefined;
  try {
    const outcome = await core.orchestrator.dispatchPrompt(group, options.prompt, {
      resume: options.resume === true,
    });
    return stopReason && outcome.status === "error" ? { ...outcome, error: stopReason } : outcome;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    offStarted();
    for (const s of core.stops.reverse()) {
      try {
        await s();
      } catch (err) {
        log.warn("shutdown step failed", { error: errorMessage(err) });
      }
    }
  }
}
