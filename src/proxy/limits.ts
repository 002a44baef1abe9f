/**
 * What the credential proxy lends the key for, and how much: only the two Messages API
 * endpoints agents need, and optionally a daily token budget per group. Usage is what the proxy
 * already records per group and UTC day (input + output + cache-write tokens; cache reads, at a
 * tenth of the price, are not counted), so a budget resets at 00:00 UTC.
 */

/** method + path (query ignored) of the endpoints forwarded upstream. */
export const FORWARDED = [
  ["POST", "/v1/messages"],
  ["POST", "/v1/messages/count_tokens"],
] as const;

export function isForwarded(method: string, pathname: string): boolean {
  return FORWARDED.some(([m, p]) => m === method.toUpperCase() && p === pathname);
}

export const FORWARDED_TEXT = FORWARDED.map(([m, p]) => `${m} ${p}`).join(" and ");

export interface DailyUsageRow {
  groupFolder: string;
  day: string;
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
}

export interface DailyLimitOptions {
  /** The group's daily token limit; 0 (or less) = none. */
  limitFor(groupFolder: string): number;
  /** Usage rows since a UTC day (YYYY-MM-DD), as the store records them. */
  usageSince(day: string): DailyUsageRow[];
  now?: () => number;
}

export interface OverLimit {
  groupFolder: string;
  limit: number;
  used: number;
  /** Next 00:00 UTC, when the day's usage starts again from zero. */
  resetsAt: number;
}

export const countedTokens = (r: Pick<DailyUsageRow, "inputTokens" | "outputTokens" | "cacheWriteTokens">) =>
  r.inputTokens + r.outputTokens + r.cacheWriteTokens;

/** Returns how far over its budget a group is, or null when it may go on. */
export function createDailyLimit(options: DailyLimitOptions): (groupFolder: string) => OverLimit | null {
  const now = options.now ?? Date.now;
  return (groupFolder) => {
    const limit = options.limitFor(groupFolder);
    if (!(limit > 0)) return null;
    const t = now();
    const day = new Date(t).toISOString().slice(0, 10);
    const used = options
      .usageSince(day)
      .filter((r) => r.groupFolder === groupFolder && r.day === day)
      .reduce((sum, r) => sum + countedTokens(r), 0);
    if (used < limit) return null;
    const resetsAt = Date.parse(`${day}T00:00:00Z`) + 24 * 3600_000;
    return { groupFolder, limit, used, resetsAt };
  };
}

/** The sentence the agent (and so the chat) sees. */
export function overLimitMessage(o: OverLimit, now: number): string {
  const mins = Math.max(1, Math.ceil((o.resetsAt - now) / 60_000));
  const wait = mins >= 60 ? `${Math.floor(mins / 60)} h ${mins % 60} min` : `${mins} min`;
  return (
    `ngb: the daily token limit of group ${o.groupFolder} (${o.limit.toLocaleString("en-US")} tokens) was reached ` +
    `(${o.used.toLocaleString("en-US")} used today); it resets at ${new Date(o.resetsAt).toISOString()} (in ${wait})`
  );
}
