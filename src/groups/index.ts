/** Registered groups: the group service and the rules a group's jid, name, folder and trigger follow. */
export { ensureGroupDir, GroupFolderError, memoryTemplate } from "./folder.ts";
export {
  createGroupService,
  type GroupInput,
  GroupNotFoundError,
  type GroupPatch,
  type GroupService,
  type GroupServiceOptions,
  validateGroupInput,
} from "./service.ts";
export {
  GroupValidationError,
  MAX_TRIGGER_CHARS,
  RESERVED_FOLDERS,
  validateContainerConfig,
  validateFolder,
  validateJid,
  validateName,
  validateTrigger,
} from "./validate.ts";
