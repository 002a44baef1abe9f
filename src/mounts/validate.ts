/**
 * Checks a group's extra mount requests against the allowlist. Host paths are expanded (`~`)
 * and resolved through symlinks before any check, so a link cannot smuggle a path out of an
 * allowed root. Every refusal is a `MountRefusedError` naming the path and the rule.
 */
import { type Dirent, readdirSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, isAbsolute, join, normalize, sep } from "node:path";
import { CONTAINER_PATHS } from "../protocol/index.ts";
import type { MountAllowlist } from "./allowlist.ts";
import {
  type CompiledPattern,
  compilePatterns,
  componentsOf,
  DEFAULT_BLOCKED_PATTERNS,
  matchComponents,
} from "./patterns.ts";

export { DEFAULT_BLOCKED_PATTERNS };

/** How deep below a mounted directory blocked items are looked for (`~` holding `.ssh`, `x/y/.ssh`). */
const CONTAINS_DEPTH = 2;
/** Entries looked at below one candidate before it is refused as too big to check. */
const MAX_SCANNED_ENTRIES = 50_000;

/** A path ngb keeps for itself (data, store, config…): never mounted, nor any directory holding it. */
export interface PrivatePath {
  path: string;
  /** What it is, for the refusal: "ngb data directory", "config file"… */
  what: string;
}

export interface MountRequest {
  hostPath: string;
  /** Name under /workspace/extra/ (relative, no `..` or `:`); default: the host folder's name. */
  containerPath?: string;
  /** Default true. */
  readonly?: boolean;
}

export interface ResolvedMount {
  /** Real host path (symlinks resolved). */
  hostPath: string;
  /** Absolute path in the container, under /workspace/extra/. */
  containerPath: string;
  readonly: boolean;
}

export type MountRule =
  | "no-allowlist"
  | "relative-path"
  | "parent-segment"
  | "not-found"
  | "blocked-pattern"
  | "contains-blocked"
  | "ngb-private"
  | "contains-ngb-private"
  | "too-many-entries"
  | "symlink-escape"
  | "outside-allowed-roots"
  | "container-path"
  | "duplicate-container-path";

export class MountRefusedError extends Error {
  override name = "MountRefusedError";
  constructor(
    readonly path: string,
    readonly rule: MountRule,
    detail: string,
  ) {
    super(`mount refused: ${path}: ${detail} (rule: ${rule})`);
  }
}

export interface ValidateOptions {
  isMain: boolean;
  /** null = no allowlist file: every extra mount is refused. */
  allowlist: MountAllowlist | null;
  /** Home directory for `~` (default: the user's). */
  home?: string;
  /** ngb's own paths (see `ngbPrivatePaths`): refused, and so is any directory that holds one. */
  privatePaths?: readonly PrivatePath[];
}

function expandHome(p: string, home: string): string {
  if (p === "~") return home;
  if (p.startsWith("~/")) return `${home.replace(/\/+$/, "")}/${p.slice(2)}`;
  return p;
}

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function tryRealpath(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

/** A blocked item up to CONTAINS_DEPTH levels below `dir` (symlinks are not followed). */
function blockedInside(
  dir: string,
  patterns: readonly CompiledPattern[],
  raw: string,
): { entry: string; pattern: string } | null {
  const base = componentsOf(dir);
  let scanned = 0;
  let level: string[][] = [[]];
  for (let depth = 1; depth <= CONTAINS_DEPTH; depth++) {
    const next: string[][] = [];
    for (const rel of level) {
      let entries: Dirent[];
      try {
        entries = readdirSync(join(dir, ...rel), { withFileTypes: true });
      } catch {
        continue; // unreadable: the container cannot read it either
      }
      for (const e of entries) {
        if (++scanned > MAX_SCANNED_ENTRIES)
          throw new MountRefusedError(
            raw,
            "too-many-entries",
            `more than ${MAX_SCANNED_ENTRIES} entries within ${CONTAINS_DEPTH} levels; mount a narrower directory`,
          );
        const path = [...rel, e.name];
        const pattern = matchComponents([...base, ...path], patterns);
        if (pattern) return { entry: path.join("/"), pattern };
        if (e.isDirectory()) next.push(path);
      }
    }
    level = next;
  }
  return null;
}

function checkPrivate(real: string, raw: string, privatePaths: readonly PrivatePath[]): void {
  for (const p of privatePaths) {
    const forms = new Set([normalize(p.path), tryRealpath(p.path) ?? normalize(p.path)]);
    for (const form of forms) {
      if (!isAbsolute(form)) continue;
      if (within(real, form))
        throw new MountRefusedError(raw, "ngb-private", `${real} is inside the ${p.what} (${form})`);
      if (within(form, real))
        throw new MountRefusedError(raw, "contains-ngb-private", `${real} holds the ${p.what} (${form})`);
    }
  }
}

function checkContainerPath(raw: string | undefined, fallback: string, hostPath: string): string {
  const name = raw ?? fallback;
  const bad = (why: string) =>
    new MountRefusedError(hostPath, "container-path", `container path "${name}" ${why}`);
  if (!name) throw bad("is empty");
  if (isAbsolute(name) || name.startsWith("/"))
    throw bad("must be relative (it goes under /workspace/extra/)");
  if (name.includes(":")) throw bad('must not contain ":"');
  const parts = name.split("/");
  if (parts.some((s) => s === ".." || s === "." || s === ""))
    throw bad('must not contain "..", "." or empty segments');
  if (!/^[A-Za-z0-9._/-]+$/.test(name)) throw bad("may only contain letters, digits, . _ - and /");
  return `${CONTAINER_PATHS.extra}/${name}`;
}

/** Validates one request. Throws MountRefusedError. */
export function validateMount(request: MountRequest, options: ValidateOptions): ResolvedMount {
  const raw = request.hostPath;
  const { allowlist } = options;
  if (!allowlist)
    throw new MountRefusedError(
      raw,
      "no-allowlist",
      "no mount allowlist is configured, extra mounts are off",
    );
  const home = options.home ?? homedir();
  const expanded = expandHome(raw, home);
  if (!isAbsolute(expanded))
    throw new MountRefusedError(raw, "relative-path", "host path must be absolute or start with ~/");
  if (raw.split("/").includes("..") || expanded.split("/").includes(".."))
    throw new MountRefusedError(raw, "parent-segment", 'host path must not contain ".." segments');
  const patterns = compilePatterns(DEFAULT_BLOCKED_PATTERNS, allowlist.blockedPatterns);
  const lexicalBlock = matchComponents(componentsOf(normalize(expanded)), patterns);
  if (lexicalBlock)
    throw new MountRefusedError(raw, "blocked-pattern", `path matches blocked pattern "${lexicalBlock}"`);
  const real = tryRealpath(expanded);
  if (!real) throw new MountRefusedError(raw, "not-found", "host path does not exist");
  const realBlock = matchComponents(componentsOf(real), patterns);
  if (realBlock)
    throw new MountRefusedError(raw, "blocked-pattern", `resolves to ${real}, which matches "${realBlock}"`);
  checkPrivate(real, raw, options.privatePaths ?? []);
  if (statSync(real).isDirectory()) {
    const inside = blockedInside(real, patterns, raw);
    if (inside)
      throw new MountRefusedError(
        raw,
        "contains-blocked",
        `directory holds "${inside.entry}", which matches blocked pattern "${inside.pattern}"`,
      );
  }

  const roots = allowlist.allowedRoots.map((r) => {
    const lexical = normalize(expandHome(r.path, home));
    return { root: r, lexical, real: tryRealpath(lexical) ?? lexical };
  });
  const match = roots.find((r) => isAbsolute(r.lexical) && within(real, r.real));
  if (!match) {
    const lexicalMatch = roots.find(
      (r) =>
        isAbsolute(r.lexical) &&
        (within(normalize(expanded), r.lexical) || within(normalize(expanded), r.real)),
    );
    if (lexicalMatch)
      throw new MountRefusedError(
        raw,
        "symlink-escape",
        `resolves to ${real}, outside the allowed root ${lexicalMatch.root.path}`,
      );
    throw new MountRefusedError(
      raw,
      "outside-allowed-roots",
      `${real} is not under any allowed root (${allowlist.allowedRoots.map((r) => r.path).join(", ") || "none"})`,
    );
  }

  const containerPath = checkContainerPath(request.containerPath, basename(real), raw);
  let readonly = request.readonly ?? true;
  if (!match.root.allowReadWrite) readonly = true;
  if (!options.isMain && allowlist.nonMainReadOnly) readonly = true;
  return { hostPath: real, containerPath, readonly };
}

/** Validates all requests; the first refusal throws. Container paths must be unique. */
export function validateMounts(requests: readonly MountRequest[], options: ValidateOptions): ResolvedMount[] {
  const out: ResolvedMount[] = [];
  for (const request of requests) {
    const m = validateMount(request, options);
    if (out.some((o) => o.containerPath === m.containerPath))
      throw new MountRefusedError(
        request.hostPath,
        "duplicate-container-path",
        `${m.containerPath} is already used by another mount`,
      );
    out.push(m);
  }
  return out;
}
