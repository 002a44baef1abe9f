/**
 * An in-process AgentRunner implementing the real interface (src/container/types.ts): each
 * "container" answers its start prompt and every follow-up through `respond`, streams the
 * outputs through `onOutput` (awaiting each, like the real runner), stays warm until closed,
 * killed or idle, and records when start / sendFollowUp were called (for the benchmark).
 */
import type {
  AgentProcess,
  AgentRunner,
  AgentRunRequest,
  AgentRunResult,
  RunningContainer,
} from "../../src/container/types.ts";
import type { ContainerInput, ContainerOutput } from "../../src/protocol/index.ts";

export interface FakeTurn {
  /** The start input (turn 0) and its follow-up text (turn ≥ 1). */
  input: ContainerInput;
  text: string;
  turn: number;
  name: string;
}

export type FakeRespond = (
  turn: FakeTurn,
) => ContainerOutput[] | Promise<ContainerOutput[]> | { fail: string; exitCode?: number };

export interface FakeRunnerOptions {
  respond?: FakeRespond;
  /** End the process this long after its last turn (0: stay warm until closed). */
  idleMs?: number;
  /** Outputs are delivered without yielding to the event loop (benchmarks). */
  now?: () => number;
}

export interface FakeRunner extends AgentRunner {
  starts: { at: number; input: ContainerInput; name: string }[];
  followUps: { at: number; text: string; name: string }[];
  orphansCleaned: number;
  setRespond(fn: FakeRespond): void;
  /** Processes currently alive. */
  alive(): FakeProcess[];
}

export interface FakeProcess extends AgentProcess {
  input: ContainerInput;
  closed: boolean;
}

let seq = 0;

export const echo: FakeRespond = (t) => [
  { status: "success", result: `echo: ${t.text}`, newSessionId: `sess-${t.name}` },
];

export function createFakeRunner(options: FakeRunnerOptions = {}): FakeRunner {
  let respond = options.respond ?? echo;
  const now = options.now ?? (() => performance.now());
  const procs = new Set<FakeProcess>();
  const starts: FakeRunner["starts"] = [];
  const followUps: FakeRunner["followUps"] = [];

  function start(req: AgentRunRequest): Promise<AgentProcess> {
    const name = `ngb-${req.group.folder}-${++seq}`;
    starts.push({ at: now(), input: req.input, name });
    const startedAt = Date.now();
    let finish!: (r: AgentRunResult) => void;
    const done = new Promise<AgentRunResult>((r) => {
      finish = r;
    });
    let ended = false;
    let outputs = 0;
    let turn = 0;
    let lastSession: string | undefined;
    let chain = Promise.resolve();
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const end = (r: Omit<AgentRunResult, "durationMs" | "outputs">) => {
      if (ended) return;
      ended = true;
      clearTimeout(idleTimer);
      procs.delete(proc);
      finish({
        ...r,
        newSessionId: r.newSessionId ?? lastSession,
        durationMs: Date.now() - startedAt,
        outputs,
      });
    };
    const runTurn = (text: string) => {
      const t: FakeTurn = { input: req.input, text, turn: turn++, name };
      chain = chain.then(async () => {
        if (ended) return;
        clearTimeout(idleTimer);
        const res = await respond(t);
        if ("fail" in res) {
          end({ status: "error", error: res.fail, exitCode: res.exitCode ?? 1 });
          return;
        }
        for (const out of res) {
          if (ended) return;
          if (out.newSessionId) lastSession = out.newSessionId;
          outputs++;
          await req.onOutput(out);
        }
        if (proc.closed) end({ status: "success", exitCode: 0 });
        else if (options.idleMs)
          idleTimer = setTimeout(() => end({ status: "success", exitCode: 0 }), options.idleMs);
      });
    };
    const proc: FakeProcess = {
      name,
      groupFolder: req.group.folder,
      startedAt,
      input: req.input,
      closed: false,
      done,
      async sendFollowUp(text) {
        if (ended || proc.closed) return false;
        followUps.push({ at: now(), text, name });
        runTurn(text);
        return true;
      },
      close() {
        proc.closed = true;
        // Ends after the current turn (if any) finishes.
        chain = chain.then(() => end({ status: "success", exitCode: 0 }));
      },
      async kill(reason) {
        end({ status: "error", error: `killed: ${reason}`, exitCode: 137 });
      },
    };
    procs.add(proc);
    runTurn(req.input.prompt);
    return Promise.resolve(proc);
  }

  return {
    starts,
    followUps,
    orphansCleaned: 0,
    setRespond(fn) {
      respond = fn;
    },
    alive: () => [...procs],
    start,
    running(): RunningContainer[] {
      return [...procs].map((p) => ({
        name: p.name,
        groupFolder: p.groupFolder,
        chatJid: p.input.chatJid,
        startedAt: p.startedAt,
      }));
    },
    async cleanupOrphans() {
      this.orphansCleaned++;
      return 0;
    },
    async stopAll() {
      await Promise.all([...procs].map((p) => p.kill("stopAll")));
    },
  };
}
