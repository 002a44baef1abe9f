import { SECRET_KEYS } from "./schema.ts";

/** A deep copy of the config with every secret replaced by "********" (unset secrets stay unset). */
export function redact<T>(value: T, prefix = ""): T {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (SECRET_KEYS.has(path)) out[key] = child === undefined || child === "" ? child : "********";
    else out[key] = redact(child, path);
  }
  return out as T;
}
