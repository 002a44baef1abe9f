import { SECRET_KEYS } from "./schema.ts";

/** `scheme://user:pass@host` → `scheme://********@host` (credentials inside any URL). */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi, "$1********@");
}

/**
 * A deep copy of the config with every secret replaced by "********" (unset secrets stay unset)
 * and credentials inside URLs (`https://user:pass@proxy`) hidden wherever they appear.
 */
export function redact<T>(value: T, prefix = ""): T {
  if (typeof value === "string") return redactUrlCredentials(value) as T;
  if (Array.isArray(value)) return value.map((x) => redact(x, prefix)) as T;
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (SECRET_KEYS.has(path)) out[key] = child === undefined || child === "" ? child : "********";
    else out[key] = redact(child, path);
  }
  return out as T;
}
