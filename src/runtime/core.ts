/**
 * The agent side of the runtime, wired once: the container runner (behind a credential proxy
 * unless one is injected), the group queue, the group and task services and the orchestrator.
 * `ngb serve` adds channels, the scheduler and the web server around it; `ngb run` without a
 * serve uses it as is to run one prompt, so both answer the agent's tool requests and keep
 * sessions the same way. Teardown steps are returned in start order; run them in reverse.
 */
import { join } from "node:path";
import type { Config } from "../config/index.ts";
import type { AgentRunner } from "../container/types.ts";
import type { EventBus } from "../events/index.ts";
import { createGroupService, type GroupService } from "../groups/index.ts";
import type { Logger } from "../log/index.ts";
import type { Channel, Orchestrator, PipelineHooks } from "../orchestrator/index.ts";
import type { GroupQueue } from "../queue/index.ts";
import type { TaskService } from "../scheduler/index.ts";
import type { OnAuthFailure, TokenUsage } from "../proxy/index.ts";
import type { Store } from "../store/index.ts";
import { instanceIdOf } from "./instance.ts";

export interface AgentCoreOptions {
  config: Config;
  store: Store;
  events: EventBus;
  log: Logger;
  channels: Channel[];
  /** Use this AgentRunner instead of docker + the credential proxy (tests, benchmarks). */
  runner?: AgentRunner;
  /** The credential proxy's socket (default `<dataDir>/proxy/proxy.sock`). */
  proxySocket?: string;
  /** The config file in effect (kept out of every extra mount). */
  configFile?: string;
  /** Plugin hooks on the message and agent path (default: none). */
  hooks?: PipelineHooks;
  /** The credential proxy saw no key, or the upstream refused it (also stops the group's run). */
  onAuthFailure?: OnAuthFailure;
  /** Each model response's token usage (live progress). */
  onUsage?: (groupFolder: string, usage: TokenUsage) => void;
}

export interface AgentCore {
  runner: AgentRunner;
  queue: GroupQueue;
  groups: GroupService;
  tasks: TaskService;
  orchestrator: Orchestrator;
  /** Teardown in start order (run in reverse). */
  stops: (() => Promise<void> | void)[];
}

export async function createAgentCore(options: AgentCoreOptions): Promise<AgentCore> {
  const { config, store, events, log } = options;
  const stops: AgentCore["stops"] = [];
  // Bound once the orchestrator exists (the proxy is built before it).
  let authFailed: (groupFolder: string, sentence: string) => void = () => {};
  let runner = options.runner;
  if (!runner) {
    // The credential proxy keeps the key on the host; containers reach it through a socket.
    const { createCredentialProxy } = await import("../proxy/index.ts");
    const { createAgentRunner } = await import("../container/index.ts");
    const { ngbPrivatePaths } = await import("../mounts/index.ts");
    const proxy = createCredentialProxy({
      config,
      store,
      log,
      socketPath: options.proxySocket ?? join(config.dataDir, "proxy", "proxy.sock"),
      onAuthFailure: (groupFolder, f) => {
        options.onAuthFailure?.(groupFolder, f);
        // No retry can succeed: stop the group's run now; the chat gets the sentence with the fix.
        authFailed(groupFolder, f.sentence);
      },
      onUsage: options.onUsage,
    });
    stops.push(() => proxy.stop());
    runner = createAgentRunner({
      config,
      log,
      paths: { groupsDir: config.groupsDir, dataDir: config.dataDir },
      proxy,
      instanceId: instanceIdOf(config),
      privatePaths: ngbPrivatePaths(config, { configFile: options.configFile, cwd: process.cwd() }),
    });
  }
  const agentRunner = runner;
  stops.push(() => agentRunner.stopAll());

  const { createGroupQueue } = await import("../queue/index.ts");
  const queue = createGroupQueue({
    maxConcurrent: config.maxConcurrentContainers,
    maxRetries: config.maxRetries,
    retryBaseMs: config.retryBaseMs,
    log: log.withTag("queue"),
    events,
  });

  const groups = createGroupService({
    store,
    events,
    paths: config,
    log,
    allowHostNetwork: config.container.allowHostNetwork,
  });
  const { createTaskService } = await import("../scheduler/index.ts");
  const tasks = createTaskService({ store, events, defaultTimezone: config.timezone, quotas: config.quotas });
  const { createOrchestrator } = await import("../orchestrator/index.ts");
  const { createIpcHandler } = await import("../ipc/index.ts");
  // The agents' tool requests: the IPC handler delivers through the orchestrator's outbox, and
  // the orchestrator answers requests through the handler: bound late, once both exist.
  let deliver: Orchestrator["deliver"] = async () => {
    throw new Error("the orchestrator is not ready");
  };
  const handleRequest = createIpcHandler({
    store,
    events,
    log,
    deliver: (req) => deliver(req),
    tasks,
    registerGroup: (g) => groups.register({ ...g, isMain: false }),
    limits: config.ipc,
  });
  const orchestrator = createOrchestrator({
    config,
    store,
    events,
    queue,
    runner: agentRunner,
    channels: options.channels,
    log,
    handleRequest,
    unknownFate: config.delivery.unknownFate,
    hooks: options.hooks,
  });
  deliver = orchestrator.deliver;
  authFailed = orchestrator.authFailed;
  stops.push(() => orchestrator.stop());
  return { runner: agentRunner, queue, groups, tasks, orchestrator, stops };
}
