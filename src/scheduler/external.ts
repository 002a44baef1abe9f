/**
 * Changes made by another process (`ngb tasks add` while `ngb serve` runs) wake the scheduler
 * without polling: fs.watch on the database directory sees the WAL being written, and
 * `PRAGMA data_version` (which changes only for commits by other connections) says whether
 * anyone else committed. The scheduler's capped sleep stays the safety net when fs events are
 * unavailable.
 */
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { Database } from "bun:sqlite";
import type { Logger } from "../log/index.ts";
import { errorMessage } from "../util/errors.ts";

export interface WatchableStore {
  db: Database;
  file: string;
}

export function isWatchableStore(s: unknown): s is WatchableStore {
  const o = s as Partial<WatchableStore> | null;
  return !!o && typeof o.file === "string" && o.file !== ":memory:" && typeof o.db?.query === "function";
}

/** Call `onChange` (debounced) when another connection commits to the store. Returns a stop function. */
export function watchExternalCommits(
  store: WatchableStore,
  onChange: () => void,
  opts: { log?: Logger; debounceMs?: number } = {},
): () => void {
  const debounceMs = opts.debounceMs ?? 25;
  const version = store.db.query<{ data_version: number }, []>("PRAGMA data_version");
  let last: number;
  let watcher: FSWatcher;
  try {
    last = version.get()!.data_version;
    const name = basename(store.file);
    watcher = watch(dirname(store.file), { persistent: false }, (_event, file) => {
      if (file && !String(file).startsWith(name)) return;
      schedule();
    });
  } catch (err) {
    opts.log?.debug("not watching the database for other processes' changes", { error: errorMessage(err) });
    return () => {};
  }
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  function schedule() {
    if (timer || stopped) return;
    timer = setTimeout(check, debounceMs);
    (timer as { unref?: () => void }).unref?.();
  }
  function check() {
    timer = null;
    if (stopped) return;
    try {
      const now = version.get()!.data_version;
      if (now === last) return;
      last = now;
      onChange();
    } catch (err) {
      opts.log?.warn("checking the database for changes failed", { error: errorMessage(err) });
    }
  }
  watcher.on("error", (err) => opts.log?.debug("database watch ended", { error: errorMessage(err) }));
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}
