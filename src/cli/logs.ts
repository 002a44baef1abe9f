/**
 * `ngb logs <group> [-f]`: the agent containers' stderr logs in `data/logs/<g>/` (host-only). Prints the
 * newest run's log (or --all, oldest first); -f keeps printing what is appended, and switches to
 * a new run's file when one appears (fs.watch, no sleeping loop).
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync, watch } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { createTerminalSanitizer } from "../util/terminal.ts";
import { globalArgs, loadContext, UsageError } from "./common.ts";

function logFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".log"))
    .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => a.t - b.t || a.f.localeCompare(b.f))
    .map((x) => x.f);
}

// Agent-controlled text: no terminal escapes or control characters reach the terminal.
let clean = createTerminalSanitizer();

/** Print bytes of `file` from `offset`; returns the new offset. */
function printFrom(file: string, offset: number): number {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return offset;
  }
  try {
    const size = statSync(file).size;
    if (size < offset) offset = 0; // truncated / rotated
    const buf = Buffer.alloc(64 * 1024);
    while (offset < size) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
      if (n <= 0) break;
      process.stdout.write(clean.push(buf.subarray(0, n)));
      offset += n;
    }
    return offset;
  } finally {
    closeSync(fd);
  }
}

export default defineCommand({
  meta: { name: "logs", description: "Print a group's agent container logs (data/logs/<g>/)" },
  args: {
    ...globalArgs,
    group: { type: "positional", description: "Group folder", required: true },
    follow: { type: "boolean", alias: "f", description: "Keep printing new output" },
    all: { type: "boolean", description: "Every kept run's log, oldest first (default: the newest)" },
  },
  async run({ args }) {
    if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(args.group))
      throw new UsageError(`ngb logs: "${args.group}" is not a group folder name`);
    const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
    const dir = join(config.dataDir, "logs", args.group);
    if (!existsSync(join(config.groupsDir, args.group)))
      throw new UsageError(
        `ngb logs: no folder ${join(config.groupsDir, args.group)} (see \`ngb groups list\`)`,
      );
    const files = logFiles(dir);
    const shown = args.all ? files : files.slice(-1);
    if (shown.length === 0 && !args.follow) {
      process.stderr.write(`no logs yet in ${dir}\n`);
      return;
    }
    let current = shown.at(-1);
    let offset = 0;
    for (const f of shown) {
      if (args.all) process.stdout.write(`==> ${f} <==\n`);
      offset = printFrom(join(dir, f), 0);
      if (f !== current) {
        process.stdout.write(clean.end());
        clean = createTerminalSanitizer();
      }
    }
    if (!args.follow) {
      process.stdout.write(clean.end());
      return;
    }
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir, { recursive: true });
    await new Promise<void>((resolve) => {
      const w = watch(dir, () => {
        const newest = logFiles(dir).at(-1);
        if (newest && newest !== current) {
          if (current) offset = printFrom(join(dir, current), offset);
          process.stdout.write(clean.end());
          clean = createTerminalSanitizer();
          current = newest;
          offset = 0;
          process.stdout.write(`==> ${newest} <==\n`);
        }
        if (current) offset = printFrom(join(dir, current), offset);
      });
      const stop = () => {
        w.close();
        resolve();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  },
});
