/**
 * The contract between the orchestrator / queue and whatever runs agents. The docker-CLI runner
 * implements it for real; tests may use an in-process fake that implements the same interface.
 */
import type { ContainerInput, ContainerOutput } from "../protocol/index.ts";
import type { RegisteredGroup } from "../store/index.ts";

export interface AgentRunRequest {
  group: RegisteredGroup;
  input: ContainerInput;
  /**
   * Called for each result as it streams out of the container, in order. The run waits for
   * the returned promise (so delivery back-pressures the stream).
   */
  onOutput: (out: ContainerOutput) => Promise<void>;
}

export interface AgentRunResult {
  status: "success" | "error" | "timeout";
  /** Last session id the agent reported (to store for resume). */
  newSessionId?: string;
  error?: string;
  exitCode: number | null;
  durationMs: number;
  /** Number of results delivered through onOutput. */
  outputs: number;
  /**
   * Follow-ups handed over with sendFollowUp that the agent never picked up (it was already
   * ending). Their messages got no reply: the caller should run them again.
   */
  unconsumedFollowUps?: number;
}

export interface AgentProcess {
  /** Container name (`ngb-<folder>-<id>`). */
  readonly name: string;
  readonly groupFolder: string;
  readonly startedAt: number;
  /**
   * Hand a follow-up message to the warm agent (atomic file in ipc/<group>/input/).
   * Returns false if the process is already ending (caller then starts a new run).
   */
  sendFollowUp(text: string): Promise<boolean>;
  /** Ask the agent to finish after the current turn (`_close`). */
  close(): void;
  /** Stop now (`docker rm -f`). */
  kill(reason: string): Promise<void>;
  readonly done: Promise<AgentRunResult>;
}

export interface RunningContainer {
  name: string;
  groupFolder: string;
  chatJid: string;
  startedAt: number;
}

export interface AgentRunner {
  start(request: AgentRunRequest): Promise<AgentProcess>;
  /** Containers this runner started that are still running. */
  running(): RunningContainer[];
  /** Remove containers labelled as ours left by an earlier host process. Returns how many. */
  cleanupOrphans(): Promise<number>;
  /** Kill everything (shutdown). */
  stopAll(): Promise<void>;
}
