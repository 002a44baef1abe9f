/**
 * Keeps the session dir manageable by the host. The runner sets umask 002 and the host shares
 * the container's group, but the Claude CLI creates some entries with explicit private modes
 * (`.claude.json` 0600, `sessions/` 0700…), which the host could then neither read nor remove.
 * This adds the group's read/write (and search, for directories) back to what this user owns
 * (descending through what it does not own, e.g. the host's mount point), never following
 * symlinks, with a bound on the entries visited.
 */
import { chmodSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

export function shareWithGroup(dir: string, maxEntries = 20_000): number {
  const uid = process.getuid?.();
  let visited = 0;
  let changed = 0;
  const walk = (path: string) => {
    if (visited++ >= maxEntries) return;
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return;
    const mine = uid === undefined || st.uid === uid;
    const want = st.mode | (st.isDirectory() ? 0o070 : 0o060);
    if (mine && (st.mode & 0o7777) !== (want & 0o7777)) {
      try {
        chmodSync(path, want & 0o7777);
        changed++;
      } catch {
        // Not ours to change after all; leave it.
      }
    }
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const name of names) walk(join(path, name));
  };
  walk(dir);
  return changed;
}
