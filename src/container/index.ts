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
