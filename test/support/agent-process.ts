/**
 * Reads a running agent runner's stdout (local process or `docker run -i`): collects each
 * ContainerOutput printed between the markers, keeps any stray stdout text, and lets a test
 * await the n-th output or the exit.
 */
import { OUTPUT_END, OUTPUT_START, type ContainerOutput } from "../../src/protocol/index.ts";

export interface AgentOutputs {
  outputs: ContainerOutput[];
  /** stdout text outside the marker blocks (must stay empty). */
  stray: string[];
  stderr: string[];
  waitFor(n: number, timeoutMs?: number): Promise<ContainerOutput>;
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
  const outputs: ContainerOutput[] = [];
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
        outputs.push(JSON.parse(buf.slice(start + OUTPUT_START.length, end)) as ContainerOutput);
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
  return {
    outputs,
    stray,
    stderr,
    exited,
    async waitFor(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (outputs.length < n) {
        if (finished)
          throw new Error(
            `agent exited after ${outputs.length}/${n} outputs; stderr: ${stderr.join("").slice(-1500)}`,
          );
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`timed out waiting for output ${n}; stderr: ${stderr.join("").slice(-1500)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return outputs[n - 1] as ContainerOutput;
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
    NGB_PROXY_SOCKET: proxy.socketPath,
    NGB_PROXY_TOKEN: proxy.token,
    ...extra,
  };
}
