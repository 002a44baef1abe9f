/**
 * Files the host writes into `ipc/<folder>/` before an agent starts, so the agent's tools can
 * read state without talking to the host: the group's tasks (all tasks for main) and, for main,
 * the registered groups and discovered chats. Written atomically (tmp + rename).
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GROUPS_SNAPSHOT, IPC_DIRS, TASKS_SNAPSHOT } from "../protocol/index.ts";
import type { RegisteredGroup, Store } from "../store/index.ts";

export function ipcDir(dataDir: string, folder: string): string {
  return join(dataDir, "ipc", folder);
}

const ensured = new Set<string>();

/** Create `ipc/<folder>/{messages,tasks,input}` (once per process unless it went missing). */
export function ensureIpcDirs(dataDir: string, folder: string): string {
  const dir = ipcDir(dataDir, folder);
  if (ensured.has(dir) && existsSync(dir)) return dir;
  for (const sub of Object.values(IPC_DIRS)) mkdirSync(join(dir, sub), { recursive: true });
  ensured.add(dir);
  return dir;
}

export function writeJsonAtomic(file: string, data: unknown): void {
  writeTextAtomic(file, JSON.stringify(data, null, 2));
}

function writeTextAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Last content written per snapshot file: an unchanged snapshot is not rewritten (hot path). */
const written = new Map<string, string>();

function writeIfChanged(file: string, data: unknown): void {
  const text = JSON.stringify(data, null, 2);
  if (written.get(file) === text && existsSync(file)) return;
  writeTextAtomic(file, text);
  if (written.size > 10_000) written.clear();
  written.set(file, text);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Entries of `current_tasks.json` (the scheduler's task service provides them when wired). */
export type TasksSnapshot = (groupFolder: string, isMain: boolean) => unknown[];

export function writeSnapshots(
  store: Store,
  dataDir: string,
  group: RegisteredGroup,
  tasksSnapshot?: TasksSnapshot,
): void {
  const dir = ensureIpcDirs(dataDir, group.folder);
  const tasks = tasksSnapshot
    ? tasksSnapshot(group.folder, group.isMain)
    : defaultTasksSnapshot(store, group);
  writeIfChanged(join(dir, TASKS_SNAPSHOT), tasks);
  writeGroups(store, dir, group);
}

function defaultTasksSnapshot(store: Store, group: RegisteredGroup): unknown[] {
  return (group.isMain ? store.tasks.list() : store.tasks.list(group.folder)).map((t) => ({
    id: t.id,
    groupFolder: t.groupFolder,
    chatJid: t.chatJid,
    prompt: t.prompt,
    scheduleType: t.scheduleType,
    scheduleValue: t.scheduleValue,
    timezone: t.timezone,
    contextMode: t.contextMode,
    status: t.status,
    nextRun: iso(t.nextRun),
    lastRun: iso(t.lastRun),
    lastResult: t.lastResult,
    lastError: t.lastError,
  }));
}

function writeGroups(store: Store, dir: string, group: RegisteredGroup): void {
  if (group.isMain) {
    const groups = store.groups.list();
    const registered = new Set(groups.map((g) => g.jid));
    writeIfChanged(join(dir, GROUPS_SNAPSHOT), {
      groups: groups.map((g) => ({ jid: g.jid, name: g.name, folder: g.folder, isMain: g.isMain })),
      discovered: store.messages
        .chats()
        .filter((c) => !registered.has(c.jid))
        .slice(0, 500)
        .map((c) => ({ jid: c.jid, name: c.name, channel: c.channel, lastMessageAt: iso(c.lastMessageAt) })),
    });
  }
}
