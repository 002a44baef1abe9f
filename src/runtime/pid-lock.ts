/**
 * One `ngb serve` per data directory: a pid file created exclusively. A stale file (its process
 * gone) is taken over; a live one is refused with a clear message.
 */
import { openSync, readFileSync, unlinkSync, writeSync, closeSync } from "node:fs";
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

export function acquirePidLock(dataDir: string): () => void {
  const file = join(dataDir, "ngb.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, "utf8").trim() === String(process.pid)) unlinkSync(file);
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
      const pid = Number.parseInt(readFileSync(file, "utf8"), 10);
      if (Number.isFinite(pid) && pid !== process.pid && alive(pid)) {
        throw new UserError(`another ngb serve (pid ${pid}) is already using ${dataDir}; stop it first`);
      }
      unlinkSync(file);
    }
  }
  throw new UserError(`could not take the lock ${file}`);
}
