/** Mount security: the allowlist file and validation of a group's extra mounts. */
export {
  AllowedRoot,
  loadMountAllowlist,
  MountAllowlist,
  MountAllowlistError,
  mountAllowlistCheck,
} from "./allowlist.ts";
export {
  DEFAULT_BLOCKED_PATTERNS,
  type MountRequest,
  MountRefusedError,
  type MountRule,
  type ResolvedMount,
  type ValidateOptions,
  validateMount,
  validateMounts,
} from "./validate.ts";
