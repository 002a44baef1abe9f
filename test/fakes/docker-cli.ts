/**
 * A fake `docker` CLI for tests of the container runner without an engine. `installFakeDocker()`
 * puts an executable `docker` into a temp dir; each call records its argv (and whether
 * NGB_PROXY_TOKEN was in its environment) to `calls.jsonl` and plays the scripted behaviour in
 * `mode` for `run` (protocol v2 frames on stdin/stdout): marker output, garbage, hangs, floods,
 * a warm agent that answers each `input` frame in its own turn and exits on `close`, a request
 * that waits for the host's reply, and an engine connection cut mid-run (the CLI dies, the
 * "container" does not). `rm -f` kills the fake container's process.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type FakeDockerMode =
  | "ok"
  | "two-slow"
  | "bad-json"
  | "no-end-marker"
  | "exit-1"
  | "hang"
  | "flood"
  | "warm"
  | "ignore-close"
  | "engine-down"
  | "no-image"
  | "request"
  | "cut";

export interface FakeDocker {
  /** Absolute path of the `docker` executable (use as container.runtime). */
  bin: string;
  dir: string;
  /** Environment additions the runner must pass (FAKE_DOCKER_DIR). */
  env: Record<string, string>;
  setMode(mode: FakeDockerMode): void;
  /** Names `docker ps` reports. */
  setContainers(names: string[]): void;
  calls(): { args: string[]; token: string | null }[];
  /** The frames the last `run` read from stdin (one JSON per line). */
  stdin(): string;
  cleanup(): void;
}

export function installFakeDocker(): FakeDocker {
  const dir = mkdtempSync(join(tmpdir(), "ngb-fake-docker-"));
  const bin = join(dir, "docker");
  writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${import.meta.path}" "$@"\n`);
  chmodSync(bin, 0o755);
  writeFileSync(join(dir, "mode"), "ok");
  writeFileSync(join(dir, "ps.txt"), "");
  return {
    bin,
    dir,
    env: { FAKE_DOCKER_DIR: dir },
    setMode: (mode) => writeFileSync(join(dir, "mode"), mode),
    setContainers: (names) => writeFileSync(join(dir, "ps.txt"), names.map((n) => `${n}\n`).join("")),
    calls: () =>
      existsSync(join(dir, "calls.jsonl"))
        ? readFileSync(join(dir, "calls.jsonl"), "utf8")
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [],
    stdin: () => readFileSync(join(dir, "stdin.json"), "utf8"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// ---- the fake CLI itself (runs when this file is executed) ----

const START = "---NGB_OUTPUT_START---";
const END = "---NGB_OUTPUT_END---";

function out(o: unknown) {
  process.stdout.write(`${START}\n${JSON.stringify(o)}\n${END}\n`);
}

async function fake() {
  const dir = process.env.FAKE_DOCKER_DIR;
  if (!dir) {
    process.stderr.write("FAKE_DOCKER_DIR not set\n");
    process.exit(2);
  }
  const args = process.argv.slice(2);
  appendFileSync(
    join(dir, "calls.jsonl"),
    `${JSON.stringify({ args, token: process.env.NGB_PROXY_TOKEN ?? null })}\n`,
  );
  const mode = readFileSync(join(dir, "mode"), "utf8").trim() as FakeDockerMode;
  if (mode === "engine-down") {
    process.stderr.write(
      "Cannot connect to the Docker daemon at unix:///run/nope.sock. Is the docker daemon running?\n",
    );
    process.exit(mode === "engine-down" && args[0] === "run" ? 125 : 1);
  }
  const cmd = args[0];
  if (cmd === "ps") {
    process.stdout.write(readFileSync(join(dir, "ps.txt"), "utf8"));
    return;
  }
  if (cmd === "rm") {
    for (const name of args.slice(1).filter((a) => !a.startsWith("-"))) {
      const pidFile = join(dir, `${name}.pid`);
      if (existsSync(pidFile)) {
        try {
          process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
        } catch {
          // already gone
        }
        rmSync(pidFile, { force: true });
      }
    }
    return;
  }
  if (cmd !== "run") {
    process.stderr.write(`fake docker: unsupported command ${cmd}\n`);
    process.exit(1);
  }
  if (mode === "no-image") {
    process.stderr.write("Unable to find image 'ngb-agent:latest' locally\n");
    process.exit(125);
  }
  const name = args[args.indexOf("--name") + 1]!;
  writeFileSync(join(dir, `${name}.pid`), String(process.pid));
  writeFileSync(join(dir, "stdin.json"), "");
  const lines = stdinLines((l) => appendFileSync(join(dir, "stdin.json"), `${l}\n`));
  const first = await lines.next();
  const start = JSON.parse(first.value ?? "{}") as {
    type: string;
    input: { prompt: string; inputId: string };
  };
  const input = start.input;
  const result = (text: string, consumed: string[], extra: Record<string, unknown> = {}) =>
    out({ type: "result", status: "success", result: text, consumed, ...extra });
  process.stderr.write(`fake agent starting ${name}\n`);

  switch (mode) {
    case "ok":
      process.stdout.write("some banner line\n");
      result(`hi ${input.prompt}`, [input.inputId], { newSessionId: "sess-1" });
      return;
    case "two-slow":
      result("first", []);
      await Bun.sleep(50);
      result("second", [input.inputId], { newSessionId: "sess-2" });
      return;
    case "bad-json":
      process.stdout.write(`${START}\n{not json\n${END}\n`);
      result("after", [input.inputId]);
      return;
    case "no-end-marker":
      process.stdout.write(`${START}\n{"type":"result","status":"success","result":"cut","consumed":[]}\n`);
      return;
    case "exit-1":
      process.stderr.write("boom: something broke\n");
      process.exit(1);
      break;
    case "hang":
      await new Promise(() => {});
      return;
    case "cut":
      // The CLI loses the engine: it dies, the container (this process's twin) would live on.
      process.stderr.write("error reading from server: unexpected EOF\n");
      process.exit(1);
      break;
    case "flood": {
      const line = `${"x".repeat(1023)}\n`;
      for (let i = 0; i < 4096; i++) process.stdout.write(line);
      await new Promise(() => {});
      return;
    }
    case "request": {
      out({ type: "request", reqId: "r1", turn: [input.inputId], request: { type: "list_tasks" } });
      for await (const line of lines) {
        const f = JSON.parse(line) as { type: string; reqId?: string; ok?: boolean; text?: string };
        if (f.type === "reply" && f.reqId === "r1") {
          result(`reply ${f.ok} ${f.text}`, [input.inputId]);
          return;
        }
      }
      return;
    }
    case "warm":
    case "ignore-close": {
      result(`hi ${input.prompt}`, [input.inputId], { newSessionId: "sess-w" });
      for await (const line of lines) {
        const f = JSON.parse(line) as { type: string; id?: string; text?: string };
        if (f.type === "close") {
          if (mode === "ignore-close") continue;
          return;
        }
        if (f.type === "input") result(`echo ${f.text}`, [f.id!]);
      }
      if (mode === "ignore-close") await new Promise(() => {});
      return;
    }
  }
}

/** stdin as lines, each reported to `seen` as it arrives. */
async function* stdinLines(seen: (line: string) => void): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  const reader = Bun.stdin.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      seen(line);
      yield line;
      nl = buf.indexOf("\n");
    }
  }
}

if (import.meta.main) {
  await fake();
  // The host keeps stdin open for frames: a finished fake agent exits by itself, like the real one.
  process.exit(0);
}
