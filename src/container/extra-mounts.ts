/**
 * A group's extra mounts, each checked against the allowlist. A refused mount is left out with
 * a warning naming the path and the rule; the group keeps running without it.
 */
import type { Logger } from "../log/index.ts";
import {
  loadMountAllowlist,
  MountRefusedError,
  type PrivatePath,
  type ResolvedMount,
  validateMount,
} from "../mounts/index.ts";
import type { RegisteredGroup } from "../store/index.ts";
import { errorMessage } from "../util/errors.ts";

export function resolveExtraMounts(
  group: Pick<RegisteredGroup, "folder" | "isMain" | "containerConfig">,
  allowlistFile: string | undefined,
  log: Logger,
  /** ngb's own paths (data, store, config…): no mount may reach or contain them. */
  privatePaths: readonly PrivatePath[] = [],
): ResolvedMount[] {
  const wanted = group.containerConfig?.additionalMounts ?? [];
  if (wanted.length === 0) return [];
  let allowlist: ReturnType<typeof loadMountAllowlist>;
  try {
    allowlist = loadMountAllowlist(allowlistFile);
  } catch (err) {
    log.warn("extra mounts skipped: bad allowlist", { group: group.folder, error: errorMessage(err) });
    return [];
  }
  const out: ResolvedMount[] = [];
  for (const m of wanted) {
    try {
      const resolved = validateMount(m, { isMain: group.isMain, allowlist, privatePaths });
      if (out.some((o) => o.containerPath === resolved.containerPath))
        throw new MountRefusedError(
          m.hostPath,
          "duplicate-container-path",
          `${resolved.containerPath} is used twice`,
        );
      out.push(resolved);
    } catch (err) {
      log.warn(errorMessage(err), { group: group.folder, allowlist: allowlistFile });
    }
  }
  return out;
}
