/**
 * Registering a group: the store row, its folder (memory file + logs), its IPC directories and
 * the `group.registered` event. Shared by the IPC `register_group` action and the default web
 * group created on first start.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EventBus } from "../events/index.ts";
import type { RegisteredGroup, Store } from "../store/index.ts";
import { ensureIpcDirs } from "./snapshots.ts";

export interface RegisterGroupDeps {
  store: Store;
  events: EventBus;
  groupsDir: string;
  dataDir: string;
}

const ensured = new Set<string>();

/** The group's folder with `logs/` and a memory file (checked once per process). */
export function ensureGroupFolder(
  groupsDir: string,
  group: Pick<RegisteredGroup, "folder" | "name">,
): string {
  const dir = join(groupsDir, group.folder);
  if (ensured.has(dir)) return dir;
  mkdirSync(join(dir, "logs"), { recursive: true });
  const memory = join(dir, "CLAUDE.md");
  if (!existsSync(memory))
    writeFileSync(
      memory,
      `# ${group.name}\n\nMemory for this group. The agent reads and updates this file.\n`,
    );
  ensured.add(dir);
  return dir;
}

/** Add a group (throws `GroupExistsError` on a clash) and prepare its folders. */
export function registerGroup(
  deps: RegisterGroupDeps,
  g: Omit<RegisteredGroup, "addedAt" | "containerConfig"> & {
    containerConfig?: RegisteredGroup["containerConfig"];
  },
): RegisteredGroup {
  const group = deps.store.groups.add({ ...g, containerConfig: g.containerConfig ?? null });
  ensureGroupFolder(deps.groupsDir, group);
  ensureIpcDirs(deps.dataDir, group.folder);
  deps.events.emit("group.registered", { jid: group.jid, folder: group.folder, name: group.name });
  return group;
}
