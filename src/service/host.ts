/** The real ServiceDeps: spawn the service manager, this process's user, this ngb's command. */
import { homedir } from "node:os";
import { configHome } from "../config/index.ts";
import type { RunResult, ServiceDeps } from "./manager.ts";

/** argv that starts this ngb: the compiled binary itself, or bun + the entry script from source. */
export function selfCommand(): string[] {
  return Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
}

export async function runCommand(argv: string[], opts: { inherit?: boolean } = {}): Promise<RunResult> {
  try {
    const p = Bun.spawn(argv, {
      stdin: opts.inherit ? "inherit" : "ignore",
      stdout: opts.inherit ? "inherit" : "pipe",
      stderr: opts.inherit ? "inherit" : "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([
      p.stdout ? new Response(p.stdout as ReadableStream).text() : "",
      p.stderr ? new Response(p.stderr as ReadableStream).text() : "",
      p.exited,
    ]);
    return { code, stdout, stderr };
  } catch (err) {
    return { code: 127, stdout: "", stderr: `${argv[0]}: ${(err as Error).message}` };
  }
}

export function hostServiceDeps(): ServiceDeps {
  return {
    run: runCommand,
    platform: process.platform,
    uid: process.getuid?.() ?? 1000,
    home: homedir(),
    xdgConfigHome: configHome(),
    ngbCommand: selfCommand(),
  };
}
