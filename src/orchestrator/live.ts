/** Per-group state of a running agent, shared by message runs and task runs. */
import type { AgentProcess } from "../container/types.ts";
import { randomHex } from "../util/crypto.ts";
import type { Batch } from "./batches.ts";

export interface Live {
  mode: "messages" | "task";
  proc: AgentProcess | null;
  /** Per-run id (reply keys of results no input started). */
  runId: string;
  /** Inputs handed to the agent and not yet answered, by id. */
  inputs: Map<string, Batch>;
  /** Every seq handed over in this run (answered or not). */
  handed: Set<number>;
  /** Batches whose turn failed (error result). */
  failed: Batch[];
  failure: string | null;
  /** Set when the run must not be retried (auth failure, stopped by request). */
  noRetry: string | null;
  /** New messages arrived before the process was up. */
  wantFollowUp: boolean;
  accepting: boolean;
  chain: Promise<void>;
  /** Results that answered no input, for their reply keys. */
  systemTurns: number;
  /** IPC send_message requests per turn, for their keys. */
  ipcSends: Map<string, number>;
}

export function newLive(mode: Live["mode"]): Live {
  return {
    mode,
    proc: null,
    runId: randomHex(4),
    inputs: new Map(),
    handed: new Set(),
    failed: [],
    failure: null,
    noRetry: null,
    wantFollowUp: false,
    accepting: mode === "messages",
    chain: Promise.resolve(),
    systemTurns: 0,
    ipcSends: new Map(),
  };
}
