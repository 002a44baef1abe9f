/** Mount security: the allowlist file and validation of a group's extra mounts. */
export {
  AllowedRoot,
  loadMountAllowlist,
  MountAllowlist,
  MountAllowlistError,
  mountAllowlistCheck,
} from "./allowlist.ts";
export { compilePattern, matchComponents } from "./patterns.ts";
export { ngbPrivatePaths, type PrivatePathsConfig, type PrivatePathsExtra } from "./private-paths.ts";
export {
  DEFAULT_BLOCKED_PATTERNS,
  type MountRequest,
  MountRefusedError,
  type MountRule,
  type PrivatePath,
  type ResolvedMount,
  type ValidateOptions,
  validateMount,
  validateMounts,
} from "./validate.ts";
