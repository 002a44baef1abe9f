/**
 * The group service: the one way a chat becomes a registered group, is changed or removed. Used
 * by the CLI (`ngb groups`), the REST API, IPC `register_group` (through the runtime) and the
 * default web group on first start: validation, reserved folder names, the folder and its memory
 * file (created without following links), the store row and the `group.registered` event.
 */
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import { GroupExistsError, type RegisteredGroup, type Store } from "../store/index.ts";
import { ensureGroupDir } from "./folder.ts";
import {
  validateContainerConfig,
  validateFolder,
  validateJid,
  validateName,
  validateTrigger,
} from "./validate.ts";

export class GroupNotFoundError extends Error {
  override name = "GroupNotFoundError";
  constructor(readonly ref: string) {
    super(`no registered group "${ref}" (give its folder or chat id)`);
  }
}

export interface GroupInput {
  jid: string;
  /** Display name (default: the folder). */
  name?: string;
  folder: string;
  /** Regex source; null/undefined = the assistant's default trigger. */
  triggerPattern?: string | null;
  /** Default: true, except for the main group. */
  requiresTrigger?: boolean;
  isMain?: boolean;
  containerConfig?: RegisteredGroup["containerConfig"];
}

export type GroupPatch = Partial<
  Pick<RegisteredGroup, "name" | "triggerPattern" | "requiresTrigger" | "containerConfig">
>;

export interface GroupServiceOptions {
  store: Pick<Store, "groups">;
  events: EventBus;
  paths: { groupsDir: string };
  /** container.allowHostNetwork: whether a group may share the host's network namespace. */
  allowHostNetwork?: boolean;
  log?: Logger;
  now?: () => number;
}

export interface GroupService {
  /** Validate and register (GroupValidationError, GroupExistsError), create the folder, emit the event. */
  register(input: GroupInput): RegisteredGroup;
  update(ref: string, patch: GroupPatch): RegisteredGroup;
  /** Unregister (the folder and messages are kept); emits `group.removed`. */
  remove(ref: string): RegisteredGroup;
  list(): RegisteredGroup[];
  /** By jid or folder; null when none. */
  get(ref: string): RegisteredGroup | null;
  /** The group's folder and memory file exist (re-created if deleted); returns its path. */
  ensureFolder(group: Pick<RegisteredGroup, "folder" | "name">): string;
}

/** Checks everything `register` checks except clashes with existing groups; returns the row to add. */
export function validateGroupInput(
  input: GroupInput,
  opts: { allowHostNetwork?: boolean } = {},
): Omit<RegisteredGroup, "addedAt"> {
  const folder = validateFolder(input.folder);
  const isMain = input.isMain ?? false;
  const trigger = input.triggerPattern ?? null;
  return {
    jid: validateJid(input.jid),
    name: validateName(input.name ?? folder),
    folder,
    triggerPattern: trigger === null || trigger === "" ? null : validateTrigger(trigger),
    requiresTrigger: input.requiresTrigger ?? !isMain,
    isMain,
    containerConfig: validateContainerConfig(input.containerConfig ?? null, opts),
  };
}

export function createGroupService(options: GroupServiceOptions): GroupService {
  const { store, events, paths } = options;
  const log = options.log?.withTag("groups");
  const now = options.now ?? Date.now;

  const find = (ref: string) => store.groups.get(ref) ?? store.groups.byFolder(ref);
  const must = (ref: string) => {
    const g = find(ref);
    if (!g) throw new GroupNotFoundError(ref);
    return g;
  };

  return {
    register(input) {
      const row = validateGroupInput(input, { allowHostNetwork: options.allowHostNetwork });
      // Clashes first, so a refused registration leaves nothing on disk.
      if (store.groups.get(row.jid)) throw new GroupExistsError("jid", row.jid);
      if (store.groups.byFolder(row.folder)) throw new GroupExistsError("folder", row.folder);
      if (row.isMain && store.groups.main()) throw new GroupExistsError("main", row.jid);
      ensureGroupDir(paths.groupsDir, row.folder, row.name);
      const group = store.groups.add({ ...row, addedAt: now() });
      log?.info("group registered", { jid: group.jid, folder: group.folder, main: group.isMain });
      events.emit("group.registered", { jid: group.jid, folder: group.folder, name: group.name });
      return group;
    },
    update(ref, patch) {
      const g = must(ref);
      const next: GroupPatch = {};
      if (patch.name !== undefined) next.name = validateName(patch.name);
      if (patch.triggerPattern !== undefined)
        next.triggerPattern =
          patch.triggerPattern === null || patch.triggerPattern === ""
            ? null
            : validateTrigger(patch.triggerPattern);
      if (patch.requiresTrigger !== undefined) next.requiresTrigger = patch.requiresTrigger;
      if (patch.containerConfig !== undefined)
        next.containerConfig = validateContainerConfig(patch.containerConfig, {
          allowHostNetwork: options.allowHostNetwork,
        });
      const updated = store.groups.update(g.jid, next);
      if (!updated) throw new GroupNotFoundError(ref);
      return updated;
    },
    remove(ref) {
      const g = must(ref);
      store.groups.remove(g.jid);
      log?.info("group removed", { jid: g.jid, folder: g.folder });
      events.emit("group.removed", { jid: g.jid, folder: g.folder });
      return g;
    },
    list: () => store.groups.list(),
    get: find,
    ensureFolder: (group) => ensureGroupDir(paths.groupsDir, group.folder, group.name),
  };
}
