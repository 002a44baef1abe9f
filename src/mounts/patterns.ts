/**
 * Blocked path patterns: credential stores and secret files that are never mounted into an
 * agent container, wherever they sit in a path. A pattern matches path components,
 * case-insensitively: `*` stands for any run of characters within one component, and a pattern
 * with `/` matches consecutive components (`.config/gcloud` blocks `/home/u/.config/gcloud/x`).
 * Patterns from the allowlist file without `*` or `/` also match inside a component (the
 * allowlist's older, looser meaning), so an existing list never blocks less than before.
 */

/** Built in, always applied. */
export const DEFAULT_BLOCKED_PATTERNS = [
  // ssh: the directory and every key type (rsa, dsa, ecdsa, ed25519, FIDO *_sk)
  ".ssh",
  "id_rsa*",
  "id_dsa*",
  "id_ecdsa*",
  "id_ed25519*",
  "*_sk",
  "*_sk.pub",
  // keys and certificates
  "*.pem",
  "*.key",
  "*.p12",
  "*.pfx",
  "private_key*",
  ".gnupg",
  // cloud and tool credentials
  ".aws",
  ".azure",
  ".gcloud",
  ".config/gcloud",
  ".config/gh",
  ".docker",
  ".kube",
  ".netrc",
  ".npmrc",
  ".pypirc",
  ".git-credentials",
  ".env*",
  "credentials*",
  "secrets*",
  // ngb's own: the mount allowlist's folder and the default config file name
  ".config/nanogridbot",
  "ngb.config.json",
] as const;

export interface CompiledPattern {
  source: string;
  /** One regex per component; matched against consecutive components. */
  parts: RegExp[];
}

function globPart(part: string, loose: boolean): RegExp {
  const escaped = part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(loose ? escaped : `^${escaped}$`, "i");
}

/** `loose`: a plain word also matches inside a component (allowlist-supplied patterns). */
export function compilePattern(source: string, loose = false): CompiledPattern {
  const parts = source.split("/").filter(Boolean);
  const plain = !source.includes("*") && parts.length === 1;
  return { source, parts: parts.map((p) => globPart(p, loose && plain)) };
}

export function compilePatterns(
  builtIn: readonly string[],
  fromAllowlist: readonly string[],
): CompiledPattern[] {
  return [...builtIn.map((p) => compilePattern(p)), ...fromAllowlist.map((p) => compilePattern(p, true))];
}

/** The first pattern matching somewhere in `components`, or null. */
export function matchComponents(
  components: readonly string[],
  patterns: readonly CompiledPattern[],
): string | null {
  for (const p of patterns) {
    const n = p.parts.length;
    for (let i = 0; i + n <= components.length; i++) {
      let ok = true;
      for (let k = 0; k < n && ok; k++) ok = p.parts[k]!.test(components[i + k]!);
      if (ok) return p.source;
    }
  }
  return null;
}

/** Components of an absolute path. */
export function componentsOf(path: string): string[] {
  return path.split("/").filter(Boolean);
}
