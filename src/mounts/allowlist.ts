/**
 * The mount allowlist: a JSON file outside the project (so an agent can never edit it) listing
 * the host roots that groups may mount. Parsed with valibot; a bad file is a clear error naming
 * the file and the key, a missing file means "no extra mounts".
 */
import { existsSync, readFileSync } from "node:fs";
import * as v from "valibot";
import { UserError } from "../util/errors.ts";
import { unsafeToTrust } from "../util/private-fs.ts";

export const AllowedRoot = v.strictObject({
  /** Host directory (absolute or `~/…`); everything below it may be mounted. */
  path: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  /** Without it, mounts under this root are always read-only. */
  allowReadWrite: v.optional(v.boolean(), false),
  description: v.optional(v.string()),
});
export type AllowedRoot = v.InferOutput<typeof AllowedRoot>;

export const MountAllowlist = v.strictObject({
  allowedRoots: v.array(AllowedRoot),
  /** Extra path-segment patterns refused on top of the built-in list. */
  blockedPatterns: v.optional(v.array(v.pipe(v.string(), v.minLength(1, "must not be empty"))), []),
  /** Non-main groups get every extra mount read-only. */
  nonMainReadOnly: v.optional(v.boolean(), true),
});
export type MountAllowlist = v.InferOutput<typeof MountAllowlist>;

export class MountAllowlistError extends UserError {
  override name = "MountAllowlistError";
  constructor(
    readonly file: string,
    readonly key: string,
    problem: string,
  ) {
    super(`mount allowlist ${file}: ${key ? `${key}: ` : ""}${problem}`);
  }
}

/** Reads and validates the allowlist. Returns null when the file does not exist. */
export function loadMountAllowlist(file: string | undefined): MountAllowlist | null {
  if (!file || !existsSync(file)) return null;
  // The allowlist decides what agents may see: nobody else may be able to rewrite it.
  const unsafe = unsafeToTrust(file);
  if (unsafe) throw new MountAllowlistError(file, "", `refused: ${unsafe.replace(`${file} is`, "it is")}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new MountAllowlistError(file, "", `not valid JSON (${(err as Error).message})`);
  }
  const parsed = v.safeParse(MountAllowlist, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const key = v.getDotPath(issue) ?? "";
    throw new MountAllowlistError(file, key || "(root)", issue.message);
  }
  return parsed.output;
}

/** One line for `ngb doctor` about the allowlist file. */
export function mountAllowlistCheck(file: string | undefined): {
  status: "ok" | "fail";
  detail: string;
  fix?: string;
} {
  try {
    const list = loadMountAllowlist(file);
    if (!list)
      return { status: "ok", detail: `${file ?? "(unset)"} not present: groups get no extra mounts` };
    const roots = list.allowedRoots.map((r) => `${r.path}${r.allowReadWrite ? " (rw)" : " (ro)"}`);
    return {
      status: "ok",
      detail: `${file}: ${roots.length ? roots.join(", ") : "no allowed roots"}${list.nonMainReadOnly ? ", non-main groups read-only" : ""}`,
    };
  } catch (err) {
    return {
      status: "fail",
      detail: (err as Error).message,
      fix: 'fix the file: {"allowedRoots":[{"path":"~/projects","allowReadWrite":false}],"blockedPatterns":[],"nonMainReadOnly":true}',
    };
  }
}
