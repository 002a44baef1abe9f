/**
 * What differs between engines, as command lines for the one runner (docker-runner.ts): how a
 * run starts, how an agent is removed, how ours are listed, how the engine is probed, how a
 * failed command is classified, and where the stdio transport keeps a group's volumes. The
 * docker CLI (docker, podman) is one engine; kubectl against a Kubernetes cluster is another
 * (kube-engine.ts).
 */
import type { RunArgsOptions } from "./args.ts";
import { buildRunArgs, LABELS } from "./args.ts";
import { describeDockerFailure, isEngineFailure } from "./cli.ts";
import { dockerVolumes, type VolumeBackend } from "./volumes.ts";

export interface Engine {
  /** The CLI every command runs (docker, podman, kubectl). */
  readonly bin: string;
  /** The engine shares no file system with the host: the stdio transport is the only one. */
  readonly stdioOnly: boolean;
  /**
   * The proxy token goes in the `start` frame instead of the CLI's environment (an engine that
   * would store an environment variable in the agent's definition, e.g. a pod spec).
   */
  readonly tokenInStart?: boolean;
  /** Arguments (after `bin`) that start one agent with its stdio attached. */
  runArgs(o: RunArgsOptions): string[];
  /** Removes agents now, whatever their state. */
  removeArgs(names: readonly string[]): string[];
  /** The removal failed only because the agent is already gone. */
  isGone(stderr: string): boolean;
  /** A cheap question the engine answers when it is reachable. */
  probeArgs(): string[];
  /** Lists this installation's agents (any state); `parseList` reads the names. */
  listArgs(instanceId: string): string[];
  parseList(stdout: string): string[];
  /** One clear sentence for a failed start, or null when the agent itself failed. */
  describeFailure(code: number | null, stderr: string, image: string): string | null;
  /** The CLI's stderr says the engine could not be reached. */
  isEngineFailure(stderr: string): boolean;
  /** Where the stdio transport keeps volumes on this engine. */
  readonly volumes: VolumeBackend;
  /** Once before the first run (e.g. a network policy); throws a clear error. */
  setup?(
    exec: (args: string[], input?: string) => Promise<{ code: number; stdout: string; stderr: string }>,
  ): Promise<void>;
}

export function dockerEngine(bin: string): Engine {
  return {
    bin,
    stdioOnly: false,
    runArgs: buildRunArgs,
    removeArgs: (names) => ["rm", "-f", ...names],
    isGone: (stderr) => /no such container/i.test(stderr),
    probeArgs: () => ["version", "--format", "{{.Server.Version}}"],
    listArgs: (instanceId) => [
      "ps",
      "-a",
      "--filter",
      `label=${LABELS.managed}=true`,
      "--filter",
      `label=${LABELS.instance}=${instanceId}`,
      "--format",
      "{{.Names}}",
    ],
    parseList: (stdout) =>
      stdout
        .split("\n")
        .map((s) => s.trim())
        .filter(Boolean),
    describeFailure: describeDockerFailure,
    isEngineFailure,
    volumes: dockerVolumes,
  };
}
