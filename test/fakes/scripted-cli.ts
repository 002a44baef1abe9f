/**
 * An in-process stand-in for a container CLI (docker, kubectl) behind the runner's spawn seam:
 * each command is recorded with what was written to its stdin and answered by a script once
 * stdin ends; `interactive` commands get a live process instead (stdout fed as stdin arrives).
 */
import type { SpawnedProcess, SpawnFn } from "../../src/container/cli.ts";

export type Answer = { code: number; stdout?: string; stderr?: string };

export interface LiveProcess {
  /** Called with each chunk written to stdin; `out` writes stdout, `exit` ends the process. */
  onStdin(
    chunk: string,
    io: { out(text: string): void; err(text: string): void; exit(code: number): void },
  ): void;
}

export function scripted(
  reply: (cmd: string[], stdin: string) => Answer,
  interactive?: (cmd: string[]) => LiveProcess | undefined,
) {
  const calls: { cmd: string[]; stdin: string }[] = [];
  const spawn: SpawnFn = (cmd) => {
    const call = { cmd, stdin: "" };
    calls.push(call);
    const live = interactive?.(cmd);
    if (live) return liveProcess(call, live);
    let answer!: (a: Answer) => void;
    const result = new Promise<Answer>((r) => {
      answer = r;
    });
    const text = (pick: (a: Answer) => string | undefined) =>
      new ReadableStream<Uint8Array>({
        async start(ctrl) {
          const t = pick(await result);
          if (t) ctrl.enqueue(new TextEncoder().encode(t));
          ctrl.close();
        },
      });
    return {
      stdin: {
        write(d: string | Uint8Array) {
          call.stdin += typeof d === "string" ? d : new TextDecoder().decode(d);
        },
        end() {
          answer(reply(cmd, call.stdin));
        },
      },
      stdout: text((a) => a.stdout),
      stderr: text((a) => a.stderr),
      exited: result.then((a) => a.code),
      kill() {
        answer({ code: 137 });
      },
    };
  };
  return { spawn, calls };
}

function liveProcess(call: { stdin: string }, live: LiveProcess): SpawnedProcess {
  let outCtrl!: ReadableStreamDefaultController<Uint8Array>;
  let errCtrl!: ReadableStreamDefaultController<Uint8Array>;
  const stdout = new ReadableStream<Uint8Array>({
    start(c) {
      outCtrl = c;
    },
  });
  const stderr = new ReadableStream<Uint8Array>({
    start(c) {
      errCtrl = c;
    },
  });
  let done!: (code: number) => void;
  const exited = new Promise<number>((r) => {
    done = r;
  });
  let ended = false;
  const io = {
    out: (t: string) => !ended && outCtrl.enqueue(new TextEncoder().encode(t)),
    err: (t: string) => !ended && errCtrl.enqueue(new TextEncoder().encode(t)),
    exit(code: number) {
      if (ended) return;
      ended = true;
      outCtrl.close();
      errCtrl.close();
      done(code);
    },
  };
  return {
    stdin: {
      write(d: string | Uint8Array) {
        const chunk = typeof d === "string" ? d : new TextDecoder().decode(d);
        call.stdin += chunk;
        live.onStdin(chunk, io);
      },
      end() {},
    },
    stdout,
    stderr,
    exited,
    kill: () => io.exit(137),
  };
}
