/**
 * An in-process AgentRunner implementing the real interface (src/container/types.ts) with the
 * real runner's turn semantics (protocol v2): inputs queue up; one turn runs at a time; a turn
 * takes the head input plus the queued inputs of the same thread (the real runner merges those),
 * and its result names exactly the inputs it consumed. `respond` answers each turn; results are
 * streamed through `onResult` (awaited, like the real runner); a response item may also be an
 * IPC request, answered by the host through `onRequest`. The process stays warm until closed,
 * killed or idle, and records when start / sendInput were called (for the benchmark).
 */
import type {
  AgentProcess,
  AgentRunner,
  AgentRunRequest,
  AgentRunResult,
  EngineState,
  FollowUp,
  RunningContainer,
} from "../../src/container/types.ts";
import type { ContainerInput, IpcRequest, ResultFrame } from "../../src/protocol/index.ts";

export interface FakeTurn {
  /** The start input. */
  input: ContainerInput;
  /** Text of this turn (the inputs it took, joined by a blank line). */
  text: string;
  /** Ids of the inputs this turn took. */
  ids: string[];
  thread: string;
  turn: number;
  name: string;
}

/** One item a turn produces: a result (consumed is filled in) or an IPC request. */
export type FakeOutput =
  | (Omit<ResultFrame, "type" | "consumed"> & { consumed?: string[] })
  | { request: IpcRequest; onReply?: (r: { ok: boolean; text: string }) => void };

export type FakeRespond = (
  turn: FakeTurn,
) =>
  | FakeOutput[]
  | Promise<FakeOutput[]>
  | { fail: string; exitCode?: number; failure?: AgentRunResult["failure"] };

export interface FakeRunnerOptions {
  respond?: FakeRespond;
  /** End the process this long after its last turn (0: stay warm until closed). */
  idleMs?: number;
  now?: () => number;
}

export interface FakeRunner extends AgentRunner {
  starts: { at: number; input: ContainerInput; name: string }[];
  followUps: { at: number; text: string; id: string; name: string }[];
  orphansCleaned: number;
  setRespond(fn: FakeRespond): void;
  /** Make `start` fail as if the engine were unreachable (until set back to true). */
  setEngine(ok: boolean): void;
  /** Processes currently alive. */
  alive(): FakeProcess[];
  /** Every alive process is idle (no turn running, nothing queued). */
  idle(): boolean;
}

export interface FakeProcess extends AgentProcess {
  input: ContainerInput;
  closed: boolean;
  /** No turn running and no input queued. */
  readonly idle: boolean;
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
  let engine: EngineState = { ok: true, since: Date.now() };

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
    let busy = false;
    let lastSession: string | undefined;
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const queue: FollowUp[] = [{ id: req.input.inputId, text: req.input.prompt, thread: req.input.thread }];
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
    if (!engine.ok) {
      const error = engine.error ?? "container engine not reachable: fake engine down";
      queueMicrotask(() => end({ status: "error", failure: "engine", error, exitCode: 125 }));
    }

    const pump = async () => {
      if (busy || ended) return;
      const head = queue.shift();
      if (!head) {
        if (proc.closed) end({ status: "success", exitCode: 0 });
        else if (options.idleMs)
          idleTimer = setTimeout(() => end({ status: "success", exitCode: 0 }), options.idleMs);
        return;
      }
      clearTimeout(idleTimer);
      busy = true;
      const taken = [head];
      while (queue[0] && (queue[0].thread ?? "") === (head.thread ?? "")) taken.push(queue.shift()!);
      const t: FakeTurn = {
        input: req.input,
        text: taken.map((i) => i.text).join("\n\n"),
        ids: taken.map((i) => i.id),
        thread: head.thread ?? "",
        turn: turn++,
        name,
      };
      const res = await respond(t);
      if ("fail" in res) {
        end({
          status: "error",
          error: res.fail,
          exitCode: res.exitCode ?? 1,
          failure: res.failure ?? "agent",
        });
        return;
      }
      let consumedSent = false;
      for (const item of res) {
        if (ended) return;
        if ("request" in item) {
          const reply = await req.onRequest({
            type: "request",
            reqId: `r${++seq}`,
            turn: t.ids,
            request: item.request,
          });
          item.onReply?.(reply);
          continue;
        }
        if (item.newSessionId) lastSession = item.newSessionId;
        outputs++;
        // The last result of a turn names its inputs; earlier ones (rare) name none.
        const isLast = item === res.filter((o) => !("request" in o)).at(-1);
        const consumed = item.consumed ?? (isLast && !consumedSent ? t.ids : []);
        if (consumed.length) consumedSent = true;
        await req.onResult({ type: "result", ...item, consumed });
      }
      busy = false;
      void pump();
    };

    const proc: FakeProcess = {
      name,
      groupFolder: req.group.folder,
      startedAt,
      input: req.input,
      closed: false,
      get idle() {
        return !busy && queue.length === 0;
      },
      done,
      sendInput(input) {
        if (ended || proc.closed) return false;
        followUps.push({ at: now(), text: input.text, id: input.id, name });
        queue.push(input);
        void pump();
        return true;
      },
      close() {
        proc.closed = true;
        if (!busy && queue.length === 0) end({ status: "success", exitCode: 0 });
      },
      async kill(reason, failure = "stopped") {
        end({ status: "error", error: `killed: ${reason}`, exitCode: 137, failure });
      },
    };
    procs.add(proc);
    if (engine.ok) queueMicrotask(() => void pump());
    return Promise.resolve(proc);
  }

  return {
    starts,
    followUps,
    orphansCleaned: 0,
    setRespond(fn) {
      respond = fn;
    },
    setEngine(ok) {
      engine = ok
        ? { ok, since: Date.now() }
        : { ok, error: "container engine not reachable: fake engine down", since: Date.now() };
    },
    alive: () => [...procs],
    idle: () => [...procs].every((p) => p.idle),
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
    engine: () => engine,
    probeEngine: async () => engine,
  };
}
