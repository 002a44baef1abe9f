/**
 * Interactive `ngb setup` on a real terminal (a pty from util-linux `script`): an engine that
 * appears while setup waits is picked up by "Check again", and Ctrl-C at a later question
 * leaves nothing written.
 */
import { expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isolatedEnv, ngbArgv, tempWorkdir } from "./support/ngb.ts";

const SCRIPT = Bun.which("script");

/** The shell command line for `ngb <args>`, quoted for `script -c`. */
function commandLine(args: string[]): string {
  return [...ngbArgv(), ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
}

test.skipIf(!SCRIPT)(
  "an engine started mid-setup is picked up on retry; Ctrl-C saves nothing",
  async () => {
    using w = tempWorkdir();
    const bin = join(w.dir, "bin");
    mkdirSync(bin);
    const env = isolatedEnv(w.dir, {
      PATH: `${bin}:${process.env.PATH}`,
      NGB_CONTAINER_RUNTIME: "fakedock",
      COLUMNS: "100",
      LINES: "40",
      TERM: "xterm",
    });
    const proc = Bun.spawn(
      [SCRIPT!, "-qfec", `stty cols 100 rows 40; exec ${commandLine(["setup"])}`, "/dev/null"],
      {
        cwd: w.dir,
        env,
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    let screen = "";
    const reader = proc.stdout.getReader();
    void (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read())
        screen += new TextDecoder().decode(r.value).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
    })();
    const waitFor = async (text: string) => {
      const deadline = Date.now() + 15_000;
      while (!screen.includes(text)) {
        if (Date.now() > deadline) throw new Error(`no "${text}" on screen:\n${screen.slice(-1500)}`);
        await Bun.sleep(50);
      }
    };
    try {
      await waitFor('"fakedock" is not installed');
      await waitFor("Check again");
      // The engine "appears": a docker-compatible CLI that answers version and knows no image.
      writeFileSync(
        join(bin, "fakedock"),
        '#!/bin/sh\nif [ "$1" = version ]; then echo 27.0.1; exit 0; fi\necho "No such image" >&2; exit 1\n',
      );
      chmodSync(join(bin, "fakedock"), 0o755);
      proc.stdin.write("\r");
      await waitFor("fakedock engine 27.0.1");
      await waitFor("Build the agent image now?");
      proc.stdin.write("\x03");
      await waitFor("Setup cancelled: nothing was saved.");
      expect(await proc.exited).toBe(130);
    } finally {
      proc.kill();
    }
    expect(existsSync(join(w.dir, "ngb.config.json"))).toBe(false);
    expect(existsSync(join(w.dir, ".env"))).toBe(false);
  },
  30_000,
);
