/**
 * Registering a group: the store row, its folder with a memory file, and the `group.registered`
 * event. Shared by the IPC `register_group` action and the default web group created on first
 * start. The group folder is the agent's writable mount: nothing here follows a symlink the
 * agent may have planted there (the memory file is created with O_EXCL | O_NOFOLLOW).
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { EventBus } from "../events/index.ts";
import type { RegisteredGroup, Store } from "../store/index.ts";

export interface RegisterGroupDeps {
  store: Store;
  events: EventBus;
  groupsDir: string;
  dataDir: string;
}

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Write `text` to a file that must not exist yet (never through a symlink); false if it exists. */
export function createFileNoFollow(path: string, text: string, mode = 0o664): boolean {
  let fd: number;
  try {
    fd = openSync(path, CREATE_NEW, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ELOOP") return false;
    throw err;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The group's folder with a memory file (created once; an existing entry is left alone). */
export function ensureGroupFolder(
  groupsDir: string,
  group: Pick<RegisteredGroup, "folder" | "name">,
): string {
  const dir = join(groupsDir, group.folder);
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) rmSync(dir, { force: true });
  if (!st?.isDirectory()) mkdirSync(dir, { recursive: true });
  createFileNoFollow(
    join(dir, "CLAUDE.md"),
    `# ${group.name}\n\nMemory for this group. The agent reads and updates this file.\n`,
  );
  return dir;
}

/** Add a group (throws `GroupExistsError` on a clash) and prepare its folder. */
export function registerGroup(
  deps: RegisterGroupDeps,
  g: Omit<RegisteredGroup, "addedAt" | "containerConfig"> & {
    containerConfig?: RegisteredGroup["containerConfig"];
  },
): RegisteredGroup {
  const group = deps.store.groups.add({ ...g, containerConfig: g.containerConfig ?? null });
  ensureGroupFolder(deps.groupsDir, group);
  deps.events.emit("group.registered", { jid: group.jid, folder: group.folder, name: group.name });
  return group;
}
