/** Per-group state of a running agent, shared by message runs and task runs. */
import type { AgentProcess } from "../container/types.ts";

export interface Batch {
  lastSeq: number;
  outputs: number;
  /** Thread / topic the batch's triggering message came from: the reply goes there too. */
  threadId?: string;
}

export interface Live {
  mode: "messages" | "task";
  proc: AgentProcess | null;
  /** Batches handed to the agent and not yet answered, oldest first. */
  pending: Batch[];
  lastAnswered: Batch | null;
  /** Highest seq handed to the agent. */
  sentSeq: number;
  /** New messages arrived before the process was up. */
  wantFollowUp: boolean;
  accepting: boolean;
  chain: Promise<void>;
}

export function newLive(mode: Live["mode"], lastSeq?: number, threadId?: string): Live {
  return {
    mode,
    proc: null,
    pending: lastSeq === undefined ? [] : [{ lastSeq, outputs: 0, threadId }],
    lastAnswered: null,
    sentSeq: lastSeq ?? 0,
    wantFollowUp: false,
    accepting: mode === "messages",
    chain: Promise.resolve(),
  };
}
