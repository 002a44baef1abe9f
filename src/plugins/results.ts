/**
 * Shape checks for what handlers return. A changing hook's handler may return nothing or one of
 * the documented shapes; anything else is a failure of that plugin (counted, skipped), so a
 * typo in a plugin can't smuggle a half-valid value into the pipeline.
 */
import type { ChangingHook } from "./types.ts";

/** Longest text a plugin may put on a message or reply, and on a prompt. */
export const MAX_TEXT = 100_000;
export const MAX_PROMPT = 1_000_000;

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);
const str = (x: unknown, max = MAX_TEXT) => typeof x === "string" && x.length <= max;
const reason = (x: unknown) => typeof x === "string" && x.trim().length > 0 && x.length <= 500;
const only = (o: Record<string, unknown>, keys: readonly string[]) =>
  Object.keys(o).every((k) => keys.includes(k));

const checks: Record<ChangingHook, (r: unknown) => boolean> = {
  "message.received": (r) =>
    isObj(r) &&
    ("drop" in r
      ? only(r, ["drop"]) && reason(r.drop)
      : only(r, ["content", "mentionsBot"]) &&
        (r.content === undefined || str(r.content)) &&
        (r.mentionsBot === undefined || typeof r.mentionsBot === "boolean")),
  "message.sending": (r) =>
    isObj(r) && ("cancel" in r ? only(r, ["cancel"]) && reason(r.cancel) : only(r, ["text"]) && str(r.text)),
  "agent.starting": (r) =>
    isObj(r) &&
    only(r, ["prompt", "context"]) &&
    (r.prompt === undefined || str(r.prompt, MAX_PROMPT)) &&
    (r.context === undefined || str(r.context)),
  "agent.result": (r) =>
    isObj(r) &&
    ("suppress" in r
      ? only(r, ["suppress"]) && reason(r.suppress)
      : only(r, ["text"]) && (r.text === null || str(r.text))),
};

/** What each hook accepts, for the error message. */
export const EXPECTED: Record<ChangingHook, string> = {
  "message.received": "nothing, { content?: string, mentionsBot?: boolean } or { drop: reason }",
  "message.sending": "nothing, { text: string } or { cancel: reason }",
  "agent.starting": "nothing or { prompt?: string, context?: string }",
  "agent.result": "nothing, { text: string | null } or { suppress: reason }",
};

/** True when `result` is acceptable for `hook` (undefined always is). */
export function validResult(hook: ChangingHook, result: unknown): boolean {
  return result === undefined || result === null || checks[hook](result);
}

/** A short preview of a bad value for logs. */
export function preview(x: unknown): string {
  try {
    const s = JSON.stringify(x) ?? String(x);
    return s.length > 80 ? `${s.slice(0, 80)}…` : s;
  } catch {
    return String(x);
  }
}
