/**
 * A fake `docker` CLI for tests of the container runner without an engine. `installFakeDocker()`
 * puts an executable `docker` into a temp dir; each call records its argv (and whether
 * NGB_PROXY_TOKEN was in its environment) to `calls.jsonl` and plays the scripted behaviour in
 * `mode` for `run`: marker output, garbage, hangs, floods, a warm agent that answers follow-up
 * files in its IPC input dir and exits on `_close`. `rm -f` kills the fake container's process.
 */
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
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
  | "no-image";

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
  const stdin = await Bun.stdin.text();
  writeFileSync(join(dir, "stdin.json"), stdin);
  const input = JSON.parse(stdin) as { prompt: string };
  const ipcMount = args.find((a) => a.includes("target=/workspace/ipc"));
  const ipcDir = /source=([^,]+)/.exec(ipcMount ?? "")?.[1] ?? "";
  process.stderr.write(`fake agent starting ${name}\n`);

  switch (mode) {
    case "ok":
      process.stdout.write("some banner line\n");
      out({ status: "success", result: `hi ${input.prompt}`, newSessionId: "sess-1" });
      return;
    case "two-slow":
      out({ status: "success", result: "first" });
      await Bun.sleep(50);
      out({ status: "success", result: "second", newSessionId: "sess-2" });
      return;
    case "bad-json":
      process.stdout.write(`${START}\n{not json\n${END}\n`);
      out({ status: "success", result: "after" });
      return;
    case "no-end-marker":
      process.stdout.write(`${START}\n{"status":"success","result":"cut"}\n`);
      return;
    case "exit-1":
      process.stderr.write("boom: something broke\n");
      process.exit(1);
      break;
    case "hang":
      setInterval(() => {}, 1000);
      return;
    case "flood": {
      const line = `${"x".repeat(1023)}\n`;
      for (let i = 0; i < 4096; i++) process.stdout.write(line);
      setInterval(() => {}, 1000);
      return;
    }
    case "warm":
    case "ignore-close": {
      out({ status: "success", result: `hi ${input.prompt}`, newSessionId: "sess-w" });
      const inputDir = join(ipcDir, "input");
      const timer = setInterval(() => {
        for (const f of readdirSync(inputDir).sort()) {
          if (f === "_close") {
            if (mode === "ignore-close") continue;
            rmSync(join(inputDir, f));
            clearInterval(timer);
            return;
          }
          if (!f.endsWith(".json")) continue;
          const msg = JSON.parse(readFileSync(join(inputDir, f), "utf8")) as { text: string };
          rmSync(join(inputDir, f));
          out({ status: "success", result: `echo ${msg.text}` });
        }
      }, 5);
      return;
    }
  }
}

if (import.meta.main) await fake();
