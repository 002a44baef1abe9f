/** Running agents in containers: the AgentRunner contract and its docker-CLI implementation. */
export { buildRunArgs, containerUser, hostDirs, LABELS, mountArg, type RunnerPaths } from "./args.ts";
export { bunSpawn, describeDockerFailure, type SpawnedProcess, type SpawnFn } from "./cli.ts";
export { resolveExtraMounts } from "./extra-mounts.ts";
export {
  createDockerRunner,
  type DockerRunnerOptions,
  type ProxyTokens,
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
