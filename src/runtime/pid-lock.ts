/**
 * One `ngb serve` per data directory: a pid file created exclusively (mode 0600). A stale file is
 * taken over: its process is gone, or the pid now belongs to another program. The file records
 * the process's start time (Linux /proc), so a recycled pid is told apart from the ngb that
 * wrote it; a file without one (older ngb) counts as live only while its process looks like ngb.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../util/errors.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The kernel's start time of `pid` (clock ticks since boot), or null without /proc. */
export function startTimeOf(pid: number, proc = "/proc"): string | null {
  try {
    const stat = readFileSync(`${proc}/${pid}/stat`, "utf8");
    // Field 2 (comm) may hold spaces and parentheses: count fields after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null; // field 22 overall
  } catch {
    return null;
  }
}

/** The argv of `pid`, or null without /proc. */
export function cmdlineOf(pid: number, proc = "/proc"): string[] | null {
  try {
    return readFileSync(`${proc}/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return null;
  }
}

const looksLikeNgb = (argv: string[]) =>
  argv.some((a) => a === "serve" || /(^|\/)ngb[^/]*$/.test(a) || a.endsWith("src/main.ts"));

/** True when the pid file's holder is still the ngb that wrote it. */
export function holderIsLive(content: string, proc = "/proc"): boolean {
  const [pidText, recorded] = content.trim().split(/\s+/);
  const pid = Number.parseInt(pidText ?? "", 10);
  if (!Number.isFinite(pid) || pid <= 0 || pid === process.pid || !alive(pid)) return false;
  const started = startTimeOf(pid, proc);
  if (started === null) return true; // no /proc (macOS): a live pid is all we can know
  if (recorded) return recorded === started;
  const argv = cmdlineOf(pid, proc);
  return argv === null || looksLikeNgb(argv);
}

export function acquirePidLock(dataDir: string, proc = "/proc"): () => void {
  const file = join(dataDir, "ngb.pid");
  const started = startTimeOf(process.pid, proc);
  const mine = started ? `${process.pid} ${started}` : String(process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, `${mine}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, "utf8").trim() === mine) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new UserError(
          `data directory ${dataDir} is not writable (${(err as NodeJS.ErrnoException).code})`,
        );
      }
      const content = readFileSync(file, "utf8");
      if (holderIsLive(content, proc)) {
        const pid = content.trim().split(/\s+/)[0];
        throw new UserError(`another ngb serve (pid ${pid}) is already using ${dataDir}; stop it first`);
      }
      unlinkSync(file);
    }
  }
  throw new UserError(`could not take the lock ${file}`);
}
