/**
 * Which files travel between the host's group folders and the engine's volumes
 * (`container.transport: "stdio"`), and the conflict rule. Pure: no engine, no docker.
 *
 * The synced set of a group folder: regular files named `*.md` at depth ≤ 2 (CLAUDE.md and the
 * notes the agent keeps), outside `logs/`, at most MAX_SYNC_FILE_BYTES each and
 * MAX_SYNC_TOTAL_BYTES together. Everything else the agent writes stays in its volume.
 *
 * Conflict rule, judged by content hashes recorded at the last sync (`last`):
 * - in, at run start: a file whose host copy differs from `last` was edited on the host (or is
 *   new, or was deleted there): the host's copy replaces the volume's.
 * - out, after the run: a file whose volume copy differs from `last` was changed by the agent:
 *   it replaces the host's copy; when the host's copy was also edited meanwhile, the agent's
 *   copy still wins and the host's edit is kept beside it as `<name>.conflict-<stamp>` (not
 *   synced, never lost).
 */
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "../util/crypto.ts";

export const MAX_SYNC_FILE_BYTES = 1024 * 1024;
export const MAX_SYNC_TOTAL_BYTES = 16 * 1024 * 1024;
export const MAX_SYNC_FILES = 500;

/** A relative path inside the synced set (no `..`, no absolute path, no hidden first part). */
export const SYNC_PATH =
  /^(?!logs\/)[A-Za-z0-9_][A-Za-z0-9._ -]{0,127}(\/[A-Za-z0-9_][A-Za-z0-9._ -]{0,127})?\.md$/;

export const isSyncPath = (p: string): boolean => SYNC_PATH.test(p) && !p.split("/").includes("..");

export interface SyncFile {
  path: string;
  data: Buffer;
}

export const hashOf = (data: Uint8Array): string => sha256(data).toString("hex");

/** The synced set of a host folder (never through a symlink). */
export function collectHostFiles(root: string, depth = 2): SyncFile[] {
  const out: SyncFile[] = [];
  let total = 0;
  const visit = (dir: string, rel: string, level: number) => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const full = join(dir, e.name);
      if (e.isDirectory() && level < depth && e.name !== "logs" && !e.name.startsWith(".")) {
        visit(full, path, level + 1);
        continue;
      }
      if (!e.isFile() || !isSyncPath(path) || out.length >= MAX_SYNC_FILES) continue;
      const st = lstatSync(full);
      if (!st.isFile() || st.size > MAX_SYNC_FILE_BYTES || total + st.size > MAX_SYNC_TOTAL_BYTES) continue;
      total += st.size;
      out.push({ path, data: readFileSync(full) });
    }
  };
  visit(root, "", 1);
  return out;
}

/** Hashes recorded at the last sync, by path. */
export type SyncState = Record<string, string>;

export interface InPlan {
  put: SyncFile[];
  remove: string[];
  /** The state once the plan is applied. */
  next: SyncState;
}

/** What to push into the volume: files edited, added or deleted on the host since `last`. */
export function planIn(host: readonly SyncFile[], last: SyncState): InPlan {
  const next: SyncState = { ...last };
  const put: SyncFile[] = [];
  const seen = new Set<string>();
  for (const f of host) {
    seen.add(f.path);
    const h = hashOf(f.data);
    if (last[f.path] !== h) put.push(f);
    next[f.path] = h;
  }
  const remove = Object.keys(last).filter((p) => !seen.has(p));
  for (const p of remove) delete next[p];
  return { put, remove, next };
}

export interface OutPlan {
  /** Agent copies to write on the host. */
  write: SyncFile[];
  /** Host files the agent deleted (and the host did not touch). */
  remove: string[];
  /** Host edits that lost to the agent's copy: kept aside under `conflictName`. */
  conflicts: string[];
  next: SyncState;
}

/** What to take from the volume after a run (see the conflict rule above). */
export function planOut(volume: readonly SyncFile[], host: readonly SyncFile[], last: SyncState): OutPlan {
  const hostHash = new Map(host.map((f) => [f.path, hashOf(f.data)]));
  const next: SyncState = { ...last };
  const write: SyncFile[] = [];
  const conflicts: string[] = [];
  const seen = new Set<string>();
  for (const f of volume) {
    seen.add(f.path);
    const a = hashOf(f.data);
    if (last[f.path] === a) continue; // the agent did not change it
    next[f.path] = a;
    const h = hostHash.get(f.path);
    if (h === a) continue;
    if (h !== undefined && h !== last[f.path]) conflicts.push(f.path);
    write.push(f);
  }
  const remove: string[] = [];
  for (const p of Object.keys(last)) {
    if (seen.has(p)) continue;
    delete next[p];
    // Deleted by the agent: delete on the host unless the host edited it meanwhile.
    if (hostHash.get(p) === last[p]) remove.push(p);
  }
  return { write, remove, conflicts, next };
}

export function conflictName(path: string, at: Date): string {
  return `${path}.conflict-${at.toISOString().replace(/[:.]/g, "-")}`;
}
