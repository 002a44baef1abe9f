/**
 * Drives a running agent runner (local process or `docker run -i`) over protocol v2: writes
 * host frames to its stdin (`hostStdin`), collects every AgentFrame printed between the
 * markers on stdout (results, requests, activity), keeps any stray stdout text, and lets a
 * test await the n-th result, any frame, or the exit.
 */
import {
  type AgentFrame,
  encodeHostFrame,
  type HostFrame,
  OUTPUT_END,
  OUTPUT_START,
  type RequestFrame,
  type ResultFrame,
} from "../../src/protocol/index.ts";

export interface AgentOutputs {
  /** Every frame, in order. */
  frames: AgentFrame[];
  /** The result frames, in order. */
  outputs: ResultFrame[];
  /** stdout text outside the marker blocks (must stay empty). */
  stray: string[];
  stderr: string[];
  /** Resolves with the n-th result frame (1-based). */
  waitFor(n: number, timeoutMs?: number): Promise<ResultFrame>;
  /** Resolves with the first frame (already seen or later) that `match` accepts. */
  waitForFrame<T extends AgentFrame>(match: (f: AgentFrame) => f is T, timeoutMs?: number): Promise<T>;
  /** Resolves with the n-th request frame (1-based). */
  waitForRequest(n: number, timeoutMs?: number): Promise<RequestFrame>;
  exited: Promise<number>;
}

async function* chunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

export function watchAgent(proc: {
  stdout: ReadableStream<Uint8Array>;
  stderr?: ReadableStream<Uint8Array>;
  exited: Promise<number>;
}): AgentOutputs {
  const frames: AgentFrame[] = [];
  const outputs: ResultFrame[] = [];
  const stray: string[] = [];
  const stderr: string[] = [];
  const waiters: (() => void)[] = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  const done = (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of chunks(proc.stdout)) {
      buf += decoder.decode(chunk, { stream: true });
      for (;;) {
        const start = buf.indexOf(OUTPUT_START);
        const end = start >= 0 ? buf.indexOf(OUTPUT_END, start) : -1;
        if (start < 0 || end < 0) break;
        if (buf.slice(0, start).trim()) stray.push(buf.slice(0, start));
        const frame = JSON.parse(buf.slice(start + OUTPUT_START.length, end)) as AgentFrame;
        frames.push(frame);
        if (frame.type === "result") outputs.push(frame);
        buf = buf.slice(end + OUTPUT_END.length).replace(/^\n/, "");
        wake();
      }
    }
    if (buf.trim()) stray.push(buf);
  })();
  if (proc.stderr) {
    (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of chunks(proc.stderr as ReadableStream<Uint8Array>))
        stderr.push(decoder.decode(chunk));
    })();
  }
  const exited = Promise.all([proc.exited, done]).then(([code]) => {
    wake();
    return code;
  });
  let finished = false;
  exited.then(() => {
    finished = true;
  });

  async function until<T>(what: string, find: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      const tail = stderr.join("").slice(-1500);
      if (finished) throw new Error(`agent exited before ${what}; stderr: ${tail}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; stderr: ${tail}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  return {
    frames,
    outputs,
    stray,
    stderr,
    exited,
    waitFor: (n, timeoutMs = 20_000) => until(`result ${n}`, () => outputs[n - 1], timeoutMs),
    waitForFrame: (match, timeoutMs = 20_000) =>
      until("a matching frame", () => frames.find(match), timeoutMs),
    waitForRequest: (n, timeoutMs = 20_000) =>
      until(
        `request ${n}`,
        () => frames.filter((f) => f.type === "request")[n - 1] as RequestFrame,
        timeoutMs,
      ),
  };
}

/** Writes host frames to a runner's stdin (a Bun.spawn pipe), one NDJSON line each. */
export function hostStdin(stdin: { write(data: string): unknown; flush?(): unknown; end(): unknown }) {
  return {
    send(frame: HostFrame) {
      stdin.write(encodeHostFrame(frame));
      stdin.flush?.();
    },
    /** Raw text, for bad-input tests. */
    raw(text: string) {
      stdin.write(text);
      stdin.flush?.();
    },
    /** Closes stdin: for the runner, the host is gone. */
    end() {
      stdin.end();
    },
  };
}

/**
 * Environment for the bundled runner as a local process: workspace paths under `ws`, the
 * (test) proxy socket and its token, no other variables from the host.
 */
export function localRunnerEnv(
  ws: string,
  proxy: { socketPath: string; token: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    NGB_WORKSPACE_ROOT: ws,
    NGB_AGENT_HOME: `${ws}/home`,
    NGB_TMP_DIR: process.env.TMPDIR || "/tmp",
    NGB_PROXY_SOCKET: proxy.socketPath,
    NGB_PROXY_TOKEN: proxy.token,
    ...extra,
  };
}
