/**
 * Notices edits in the plugins directory: `fs.watch` for promptness, a bounded re-check every
 * `pollMs` as a fallback (fs events get lost on some file systems and editors replace files).
 * A change is a different newest-mtime of a plugin source; a new or removed source triggers a
 * full re-scan. One error boundary: a failing check is logged and the next one runs.
 */
import { existsSync, type FSWatcher, watch } from "node:fs";
import type { Logger } from "../log/index.ts";
import { errorMessage } from "../util/errors.ts";
import { discoverPlugins, sourceStamp } from "./loader.ts";

export interface WatcherOptions {
  dir: string;
  log: Logger;
  /** A source whose files changed (its entry path). */
  onChange(path: string): Promise<unknown>;
  /** Sources appeared or disappeared. */
  onRescan(): Promise<unknown>;
  pollMs?: number;
  debounceMs?: number;
}

export function createWatcher(o: WatcherOptions): { stop(): void } {
  const stamps = new Map<string, number>();
  for (const s of discoverPlugins(o.dir)) stamps.set(s.path, sourceStamp(s.path));
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running = false;
  let again = false;
  let stopped = false;

  async function check(): Promise<void> {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const sources = discoverPlugins(o.dir);
      const seen = new Set(sources.map((s) => s.path));
      let rescan = [...stamps.keys()].some((p) => !seen.has(p));
      for (const s of sources) {
        const stamp = sourceStamp(s.path);
        const before = stamps.get(s.path);
        stamps.set(s.path, stamp);
        if (before === undefined) rescan = true;
        else if (stamp !== before) await o.onChange(s.path);
      }
      for (const p of [...stamps.keys()]) if (!seen.has(p)) stamps.delete(p);
      if (rescan) await o.onRescan();
    } catch (err) {
      o.log.warn("plugin watch check failed", { error: errorMessage(err) });
    } finally {
      running = false;
      if (again && !stopped) {
        again = false;
        schedule(0);
      }
    }
  }

  function schedule(ms: number) {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void check();
    }, ms);
  }

  let fsw: FSWatcher | null = null;
  const startFsWatch = () => {
    if (fsw || !existsSync(o.dir)) return;
    try {
      fsw = watch(o.dir, { recursive: true }, () => schedule(o.debounceMs ?? 80));
      fsw.on("error", () => {
        fsw?.close();
        fsw = null;
      });
    } catch (err) {
      o.log.debug("fs.watch unavailable for plugins, polling only", { error: errorMessage(err) });
    }
  };
  startFsWatch();
  const poll = setInterval(() => {
    startFsWatch();
    if (!timer) void check();
  }, o.pollMs ?? 2_000);
  poll.unref?.();

  return {
    stop() {
      stopped = true;
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      fsw?.close();
    },
  };
}
