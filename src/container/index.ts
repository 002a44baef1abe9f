/** Running agents in containers: the AgentRunner contract and its docker-CLI implementation. */
export {
  AGENT_UID,
  buildRunArgs,
  containerUser,
  hostDirs,
  LABELS,
  mountArg,
  prepareHostDirs,
  type RunnerPaths,
} from "./args.ts";
export {
  bunSpawn,
  describeDockerFailure,
  isEngineFailure,
  type SpawnedProcess,
  type SpawnFn,
} from "./cli.ts";
export { resolveExtraMounts } from "./extra-mounts.ts";
export { createDockerRunner, type DockerRunnerOptions, type ProxyTokens } from "./docker-runner.ts";
export { dockerEngine, type Engine } from "./engine.ts";
export { kubeEngine } from "./kube-engine.ts";

import { createDockerRunner, type DockerRunnerOptions } from "./docker-runner.ts";
import { kubeEngine } from "./kube-engine.ts";
import type { AgentRunner } from "./types.ts";

/** The runner for `container.runtime`: a docker-compatible CLI, or "kubernetes" (kubectl). */
export function createAgentRunner(options: DockerRunnerOptions): AgentRunner {
  const c = options.config.container;
  if (c.runtime !== "kubernetes") return createDockerRunner(options);
  return createDockerRunner({ ...options, engine: options.engine ?? kubeEngine(c) });
}
export { createFrameParser, type FrameParser } from "./output-parser.ts";
export type {
  AgentProcess,
  AgentRunner,
  AgentRunRequest,
  AgentRunResult,
  EngineState,
  FailureKind,
  FollowUp,
  RunningContainer,
} from "./types.ts";
