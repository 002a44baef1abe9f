/** Running agents in containers: the AgentRunner contract and its docker-CLI implementation. */
export { buildRunArgs, containerUser, hostDirs, LABELS, mountArg, type RunnerPaths } from "./args.ts";
export {
  bunSpawn,
  createDockerRunner,
  type DockerRunnerOptions,
  describeDockerFailure,
  type ProxyTokens,
  type SpawnedProcess,
  type SpawnFn,
  writeAtomic,
} from "./docker-runner.ts";
export { createOutputParser, type OutputParser } from "./output-parser.ts";
export type {
  AgentProcess,
  AgentRunner,
  AgentRunRequest,
  AgentRunResult,
  RunningContainer,
} from "./types.ts";
