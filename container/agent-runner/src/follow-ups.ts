/**
 * Follow-up input for a warm session: the host drops `<name>.json` files (FollowUpInput) into
 * the input folder atomically, and a `_close` file to end the session. The reader watches the
 * folder (fs.watch) with a slow re-scan as a fallback for missed events, reads each file in
 * name order, deletes it and emits its text. Bad files are logged and dropped, never fatal.
 */
import { existsSync, type FSWatcher, mkdirSync, readdirSync, readFileSync, rmSync, watch } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { CLOSE_SENTINEL, FollowUpInput } from "../../../src/protocol/index.ts";
import type { RunnerLog } from "./io.ts";

export type FollowUpEvent = { type: "message"; text: string; file: string } | { type: "close" };

export interface FollowUpReaderOptions {
  dir: string;
  log: RunnerLog;
  onEvent: (event: FollowUpEvent) => void;
  /** Fallback re-scan period in ms (default 1000). */
  rescanMs?: number;
  /** When this returns false, files are left in place for the host (the session is ending). */
  accepting?: () => boolean;
}

export interface FollowUpReader {
  /** Scan now (also called on every watch event). */
  scan(): void;
  stop(): void;
}

/** Removes a `_close` left over from an earlier run so it cannot end this one at once. */
export function clearStaleClose(dir: string): boolean {
  const path = join(dir, CLOSE_SENTINEL);
  if (!existsSync(path)) return false;
  rmSync(path, { force: true });
  return true;
}

/** Reads and deletes one follow-up file; returns its text or throws with the reason. */
export function readFollowUpFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } finally {
    rmSync(path, { force: true });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  const parsed = v.safeParse(FollowUpInput, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue ? v.getDotPath(issue) : undefined;
    throw new Error(
      `invalid follow-up${where ? ` at ${where}` : ""}: ${issue?.message ?? "unknown problem"}`,
    );
  }
  return parsed.output.text;
}

export function createFollowUpReader(options: FollowUpReaderOptions): FollowUpReader {
  const { dir, log, onEvent } = options;
  mkdirSync(dir, { recursive: true });
  let stopped = false;
  let closed = false;
  let scanning = false;

  const scan = () => {
    if (stopped || scanning) return;
    scanning = true;
    try {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch (err) {
        log.warn("input folder unreadable", { dir, error: (err as Error).message });
        return;
      }
      const files = names.filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort();
      for (const name of files) {
        if (stopped || options.accepting?.() === false) return;
        const path = join(dir, name);
        try {
          const text = readFollowUpFile(path);
          onEvent({ type: "message", text, file: name });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "ENOENT") continue; // taken by a concurrent scan
          log.warn("follow-up file dropped", { file: name, error: (err as Error).message });
        }
      }
      if (!closed && names.includes(CLOSE_SENTINEL)) {
        closed = true;
        rmSync(join(dir, CLOSE_SENTINEL), { force: true });
        onEvent({ type: "close" });
      }
    } finally {
      scanning = false;
    }
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, () => scan());
    watcher.on("error", (err) => log.warn("input watch failed, re-scan only", { error: err.message }));
  } catch (err) {
    log.warn("input watch unavailable, re-scan only", { error: (err as Error).message });
  }
  const timer = setInterval(scan, options.rescanMs ?? 1000);
  // The interval keeps the process alive only while the session input is open.
  queueMicrotask(scan);

  return {
    scan,
    stop() {
      stopped = true;
      clearInterval(timer);
      watcher?.close();
    },
  };
}
