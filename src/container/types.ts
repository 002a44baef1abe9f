/**
 * The contract between the orchestrator / queue and whatever runs agents. The docker-CLI runner
 * implements it for real; tests may use an in-process fake that implements the same interface.
 * Everything between host and agent goes over the container's stdio (protocol v2).
 */
import type { ActivityFrame, ContainerInput, RequestFrame, ResultFrame } from "../protocol/index.ts";
import type { RegisteredGroup } from "../store/index.ts";

export interface AgentRunRequest {
  group: RegisteredGroup;
  input: ContainerInput;
  /**
   * Called for each turn's result as it streams out of the container, in order. The run waits
   * for the returned promise (so the host's bookkeeping back-pressures the stream).
   */
  onResult: (frame: ResultFrame) => Promise<void>;
  /**
   * An IPC request from the agent's tools. The caller validates and authorizes it with the
   * identity of `group` (never the payload); the answer goes back to the agent.
   */
  onRequest: (frame: RequestFrame) => Promise<{ ok: boolean; text: string }>;
  /** Progress from the agent (a tool started, the model is working). */
  onActivity?: (frame: ActivityFrame) => void;
}

/** Why a run failed, when it did: the caller decides retries by this. */
export type FailureKind =
  /** The container engine could not be reached: wait for it, this is not the messages' fault. */
  | "engine"
  /** The image is missing or the engine refused the container (configuration). */
  | "setup"
  /** The hard time limit was reached. */
  | "timeout"
  /** No output and no progress for the stall limit. */
  | "stalled"
  /** The agent itself failed (non-zero exit, bad output, output limit). */
  | "agent"
  /** Stopped on purpose (shutdown, `stopContainer`, an auth failure the host saw). */
  | "stopped";

export interface AgentRunResult {
  status: "success" | "error" | "timeout";
  /** Last session id the agent reported (to store for resume). */
  newSessionId?: string;
  error?: string;
  /** Set when status is not success. */
  failure?: FailureKind;
  exitCode: number | null;
  durationMs: number;
  /** Number of result frames handed to onResult. */
  outputs: number;
}

export interface FollowUp {
  /** Host-chosen input id; a result that answers it lists it in `consumed`. */
  id: string;
  text: string;
  /** Thread key: inputs of different threads are never merged into one turn. */
  thread?: string;
}

export interface AgentProcess {
  /** Container name (`ngb-<folder>-<id>`). */
  readonly name: string;
  readonly groupFolder: string;
  readonly startedAt: number;
  /**
   * Hand a follow-up input to the warm agent (an `input` frame on its stdin). False when the
   * process is already ending (the caller then starts a new run for it).
   */
  sendInput(input: FollowUp): boolean;
  /** Ask the agent to finish after the current turn (a `close` frame). */
  close(): void;
  /** Stop now (`docker rm -f`). */
  kill(reason: string, failure?: FailureKind): Promise<void>;
  readonly done: Promise<AgentRunResult>;
}

export interface RunningContainer {
  name: string;
  groupFolder: string;
  chatJid: string;
  startedAt: number;
}

export interface EngineState {
  /** False while the engine is unreachable (runs wait for it). */
  ok: boolean;
  error?: string;
  /** When the current state began (epoch ms). */
  since: number;
}

export interface AgentRunner {
  start(request: AgentRunRequest): Promise<AgentProcess>;
  /** Containers this runner started that are still running. */
  running(): RunningContainer[];
  /** Remove containers labelled as ours left by an earlier host process. Returns how many. */
  cleanupOrphans(): Promise<number>;
  /** Kill everything (shutdown). */
  stopAll(): Promise<void>;
  /** Whether the engine answered last time it was asked. */
  engine(): EngineState;
  /** Ask the engine now (`docker version`); updates `engine()`. */
  probeEngine(): Promise<EngineState>;
}
