/**
 * What a group may be called: its chat id, display name, folder and trigger. One set of rules for
 * the CLI, the REST API, IPC `register_group` and the default web group; each failure names the
 * field and what was wrong.
 */
import type { GroupContainerConfig } from "../store/index.ts";
import { sharedNamespaceNetwork } from "../util/network.ts";
import { patternProblem } from "../util/safe-regex.ts";

export class GroupValidationError extends Error {
  override name = "GroupValidationError";
  constructor(
    readonly field: "jid" | "name" | "folder" | "trigger" | "containerConfig",
    readonly value: string,
    reason: string,
  ) {
    super(`${field} ${JSON.stringify(value.slice(0, 80))}: ${reason}`);
  }
}

/**
 * Folder names the host uses itself: `groups/global` is the shared memory, `ipc/errors` holds
 * refused IPC files; the rest are data-dir siblings a group folder must never be mistaken for.
 * Compared case-insensitively (a case-insensitive file system maps `Global` onto `global`).
 */
export const RESERVED_FOLDERS: ReadonlySet<string> = new Set([
  "global",
  "errors",
  "logs",
  "ipc",
  "sessions",
  "proxy",
  "proxy-run",
  "store",
  "data",
]);

const FOLDER = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const JID = /^[A-Za-z0-9_][A-Za-z0-9_.:@+=-]{0,199}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
export const MAX_TRIGGER_CHARS = 200;

export function validateFolder(folder: string): string {
  if (!FOLDER.test(folder))
    throw new GroupValidationError(
      "folder",
      folder,
      "use lowercase letters, digits, - or _ (1-64, starting with a letter or digit)",
    );
  if (RESERVED_FOLDERS.has(folder.toLowerCase()))
    throw new GroupValidationError(
      "folder",
      folder,
      `is reserved for the host (reserved: ${[...RESERVED_FOLDERS].join(", ")})`,
    );
  return folder;
}

export function validateJid(jid: string): string {
  if (!JID.test(jid) || jid.includes(".."))
    throw new GroupValidationError(
      "jid",
      jid,
      "expected a chat id like tg:-100123, web:default or 12345@g.us (max 200, no spaces or '..')",
    );
  return jid;
}

export function validateName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 200 || CONTROL.test(trimmed))
    throw new GroupValidationError("name", name, "must be 1-200 characters without control characters");
  return trimmed;
}

/**
 * A trigger pattern (regex source, matched case-insensitively): only the safe subset of
 * `src/util/safe-regex.ts` (no backreferences, lookaround or nested repetition that could
 * backtrack catastrophically on a chat member's message).
 */
export function validateTrigger(pattern: string): string {
  if (pattern.length === 0 || pattern.length > MAX_TRIGGER_CHARS)
    throw new GroupValidationError("trigger", pattern, `must be 1-${MAX_TRIGGER_CHARS} characters`);
  const problem = patternProblem(pattern);
  if (problem) throw new GroupValidationError("trigger", pattern, problem);
  return pattern;
}

const SIZE = /^\d+[kmg]?$/i;
const CPUS = /^\d+(\.\d+)?$/;
const NETWORK = /^[A-Za-z0-9_.-]{1,64}$/;

/** Shape checks of a container config (mounts are checked against the allowlist at run time). */
export function validateContainerConfig(
  c: GroupContainerConfig | null,
  opts: { allowHostNetwork?: boolean } = {},
): GroupContainerConfig | null {
  if (c === null) return null;
  const bad = (what: string) => new GroupValidationError("containerConfig", JSON.stringify(c), what);
  if (c.timeoutMs !== undefined && (!Number.isInteger(c.timeoutMs) || c.timeoutMs < 1000))
    throw bad("timeoutMs must be an integer of at least 1000");
  if (c.memory !== undefined && !SIZE.test(c.memory)) throw bad("memory must look like 512m or 2g");
  if (c.cpus !== undefined && !CPUS.test(c.cpus)) throw bad("cpus must be a number like 1 or 0.5");
  if (c.network !== undefined && !NETWORK.test(c.network) && !sharedNamespaceNetwork(c.network))
    throw bad("network must be a network name");
  const shared = c.network !== undefined ? sharedNamespaceNetwork(c.network) : null;
  if (shared && !opts.allowHostNetwork)
    throw bad(
      `network "${c.network}": ${shared}; refused unless container.allowHostNetwork is set in the config`,
    );
  if (c.additionalMounts !== undefined && c.additionalMounts.length > 32) throw bad("at most 32 mounts");
  return c;
}
