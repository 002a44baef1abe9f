/**
 * The IPC watcher: agents' MCP tools write JSON files into `ipc/<folder>/{messages,tasks}/`;
 * the host validates each (valibot `IpcRequest`), authorizes it with the group identity taken
 * from the DIRECTORY the file is in (never from the payload), acts, and deletes it. Bad or
 * forbidden files are moved to `ipc/errors/<folder>-<file>` with a log line and an
 * `ipc.rejected` event. fs.watch drives it; a re-scan every `ipcPollMs` is the safety net.
 * One bad file never stops the watcher.
 */
import {
  type FSWatcher,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  watch,
} from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import { type Deliver, NoChannelError } from "../orchestrator/index.ts";
import { IPC_DIRS, IpcRequest } from "../protocol/index.ts";
import type { RegisteredGroup, Store } from "../store/index.ts";
import { errorMessage } from "../util/errors.ts";

/** The slice of the scheduler's task service the watcher uses. */
export interface IpcTaskOps {
  create(input: Record<string, unknown>, actor: IpcActor): { id: string };
  pause(id: string, actor: IpcActor): unknown;
  resume(id: string, actor: IpcActor): unknown;
  cancel(id: string, actor: IpcActor): unknown;
}

export interface IpcActor {
  kind: "group";
  groupFolder: string;
  isMain: boolean;
}

export interface IpcWatcherOptions {
  dataDir: string;
  pollMs: number;
  store: Store;
  events: EventBus;
  log: Logger;
  deliver: Deliver;
  tasks: IpcTaskOps;
  /** Register a group (store row, folders, event). Throws on a clash. */
  registerGroup(g: Omit<RegisteredGroup, "addedAt" | "containerConfig" | "isMain">): RegisteredGroup;
  /** Attempts for a transient failure (a send that failed) before the file is moved aside. */
  maxAttempts?: number;
}

export class IpcRejectedError extends Error {
  override name = "IpcRejectedError";
}

export interface IpcWatcher {
  start(): void;
  stop(): void;
  /** Process whatever is there now (tests, and the fallback timer). */
  scan(): Promise<void>;
}

const SUBDIRS = [IPC_DIRS.messages, IPC_DIRS.tasks] as const;
/** Largest request file read (a message is at most 64 000 characters). */
const MAX_FILE_BYTES = 1024 * 1024;
const ERRORS_DIR = "errors";

export function createIpcWatcher(options: IpcWatcherOptions): IpcWatcher {
  const { store, events, deliver, tasks } = options;
  const log = options.log.withTag("ipc");
  const root = join(options.dataDir, "ipc");
  const errorsDir = join(root, ERRORS_DIR);
  const maxAttempts = options.maxAttempts ?? 3;
  const watchers = new Map<string, FSWatcher>();
  const attempts = new Map<string, number>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let running = false;
  let scanning: Promise<void> | null = null;
  let again = false;
  const warned = new Set<string>();
  const warnOnce = (key: string, msg: string) => {
    if (warned.has(key)) return;
    warned.add(key);
    log.warn(msg);
  };

  function reject(folder: string, dir: string, file: string, reason: string): void {
    const target = join(errorsDir, `${folder}-${file}`);
    try {
      mkdirSync(errorsDir, { recursive: true });
      renameSync(join(dir, file), target);
    } catch (err) {
      log.error("could not move a rejected ipc file aside; deleting it", { file, error: errorMessage(err) });
      try {
        unlinkSync(join(dir, file));
      } catch {
        // already gone
      }
    }
    log.warn(`rejected ipc file ${folder}/${file}: ${reason}`);
    events.emit("ipc.rejected", { groupFolder: folder, file, reason });
  }

  async function act(group: RegisteredGroup, file: string, req: IpcRequest): Promise<string> {
    const actor: IpcActor = { kind: "group", groupFolder: group.folder, isMain: group.isMain };
    switch (req.type) {
      case "message": {
        if (!group.isMain && req.chatJid !== group.jid)
          throw new IpcRejectedError(
            `group "${group.folder}" may only message its own chat (${group.jid}), not ${req.chatJid}`,
          );
        const out = await deliver({
          chatJid: req.chatJid,
          text: req.text,
          idemKey: `ipc:${group.folder}:${file}`,
        });
        return `message to ${req.chatJid} ${out.status}`;
      }
      case "schedule_task": {
        if (!group.isMain && req.targetJid !== undefined && req.targetJid !== group.jid)
          throw new IpcRejectedError(`group "${group.folder}" may only send task results to its own chat`);
        const task = tasks.create(
          {
            prompt: req.prompt,
            scheduleType: req.scheduleType,
            scheduleValue: req.scheduleValue,
            contextMode: req.contextMode,
            timezone: req.timezone,
            catchUp: req.catchUp,
            targetJid: req.targetJid,
          },
          actor,
        );
        return `task ${task.id} scheduled`;
      }
      case "pause_task":
        tasks.pause(req.taskId, actor);
        return `task ${req.taskId} paused`;
      case "resume_task":
        tasks.resume(req.taskId, actor);
        return `task ${req.taskId} resumed`;
      case "cancel_task":
        tasks.cancel(req.taskId, actor);
        return `task ${req.taskId} cancelled`;
      case "register_group": {
        if (!group.isMain)
          throw new IpcRejectedError(
            `group "${group.folder}" is not the main group and may not register groups`,
          );
        if (req.folder === "global" || req.folder === ERRORS_DIR)
          throw new IpcRejectedError(`folder "${req.folder}" is reserved`);
        if (req.trigger) {
          try {
            new RegExp(req.trigger, "i");
          } catch (err) {
            throw new IpcRejectedError(`trigger is not a valid regular expression (${errorMessage(err)})`);
          }
        }
        const g = options.registerGroup({
          jid: req.jid,
          name: req.name,
          folder: req.folder,
          triggerPattern: req.trigger || null,
          requiresTrigger: req.requiresTrigger ?? true,
        });
        return `group ${g.jid} registered as ${g.folder}`;
      }
    }
  }

  async function handle(folder: string, dir: string, file: string): Promise<void> {
    const path = join(dir, file);
    let raw: string;
    try {
      // A symlink could point the host at any file it can read: only regular files, capped.
      const st = lstatSync(path);
      if (!st.isFile()) return reject(folder, dir, file, "not a regular file (symlinks are refused)");
      if (st.size > MAX_FILE_BYTES)
        return reject(folder, dir, file, `file is ${st.size} bytes, over the ${MAX_FILE_BYTES}-byte limit`);
      raw = readFileSync(path, "utf8");
    } catch {
      return; // gone meanwhile (another scan took it)
    }
    const group = store.groups.byFolder(folder);
    if (!group) return reject(folder, dir, file, `no registered group has folder "${folder}"`);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return reject(folder, dir, file, "not valid JSON");
    }
    const parsed = v.safeParse(IpcRequest, json);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const where = v.getDotPath(issue);
      return reject(folder, dir, file, `invalid request: ${where ? `${where}: ` : ""}${issue.message}`);
    }
    try {
      const what = await act(group, file, parsed.output);
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
      attempts.delete(path);
      log.debug("ipc request done", { group: folder, file, what });
    } catch (err) {
      const transient =
        !(err instanceof IpcRejectedError) && !(err instanceof NoChannelError) && isTransient(err);
      const n = (attempts.get(path) ?? 0) + 1;
      if (transient && n < maxAttempts) {
        attempts.set(path, n);
        log.warn("ipc request failed, will retry", {
          group: folder,
          file,
          attempt: n,
          error: errorMessage(err),
        });
        return;
      }
      attempts.delete(path);
      reject(folder, dir, file, errorMessage(err));
    }
  }

  async function scanOnce(): Promise<void> {
    let folders: string[];
    try {
      folders = readdirSync(root, { withFileTypes: true })
        .filter((d) => d.isDirectory() && d.name !== ERRORS_DIR)
        .map((d) => d.name);
    } catch {
      return;
    }
    for (const folder of folders) {
      for (const sub of SUBDIRS) {
        const dir = join(root, folder, sub);
        let files: string[];
        try {
          // The agent owns ipc/<folder>: a sub-directory swapped for a symlink would point the
          // host (reading, moving files) somewhere else. Only real directories are read.
          if (!lstatSync(dir).isDirectory()) {
            warnOnce(dir, `ipc/${folder}/${sub} is not a real directory (symlink?); ignored`);
            continue;
          }
          files = readdirSync(dir).filter((f) => f.endsWith(".json"));
        } catch {
          continue;
        }
        if (running) watchDir(dir, folder);
        files.sort();
        for (const file of files) {
          try {
            await handle(folder, dir, file);
          } catch (err) {
            log.error("ipc file handling failed", { group: folder, file, error: errorMessage(err) });
          }
        }
      }
    }
  }

  function scan(): Promise<void> {
    if (scanning) {
      again = true;
      return scanning;
    }
    scanning = (async () => {
      do {
        again = false;
        await scanOnce();
      } while (again);
    })().finally(() => {
      scanning = null;
    });
    return scanning;
  }

  function watchDir(dir: string, key: string): void {
    if (watchers.has(dir) || !existsSync(dir)) return;
    try {
      const w = watch(dir, () => void scan());
      w.on("error", () => {
        w.close();
        watchers.delete(dir);
      });
      watchers.set(dir, w);
    } catch (err) {
      log.debug("cannot watch ipc dir; the re-scan covers it", { dir: key, error: errorMessage(err) });
    }
  }

  return {
    start() {
      running = true;
      mkdirSync(errorsDir, { recursive: true });
      watchDir(root, "root");
      timer = setInterval(() => void scan(), options.pollMs);
      timer.unref?.();
      void scan();
    },
    stop() {
      running = false;
      clearInterval(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
    scan,
  };
}

/** A failed send may succeed later; validation and authorization errors never will. */
function isTransient(err: unknown): boolean {
  const name = err instanceof Error ? err.name : "";
  return name === "DeliveryError";
}
