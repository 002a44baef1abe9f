/** Token usage per group per day, recorded by the credential proxy from each model response. */
import type { Database } from "bun:sqlite";

export interface UsageRow {
  groupFolder: string;
  day: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

interface Row {
  group_folder: string;
  day: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
}

const toUsage = (r: Row): UsageRow => ({
  groupFolder: r.group_folder,
  day: r.day,
  requests: r.requests,
  inputTokens: r.input_tokens,
  outputTokens: r.output_tokens,
  cacheReadTokens: r.cache_read_tokens,
  cacheWriteTokens: r.cache_write_tokens,
});

export function createUsageRepo(db: Database) {
  const add = db.query<unknown, [string, string, number, number, number, number]>(
    `INSERT INTO usage (group_folder, day, requests, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
     VALUES (?, ?, 1, ?, ?, ?, ?)
     ON CONFLICT (group_folder, day) DO UPDATE SET requests = requests + 1,
       input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
       cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
       cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens`,
  );
  const since = db.query<Row, [string]>("SELECT * FROM usage WHERE day >= ? ORDER BY day DESC, group_folder");
  const one = db.query<Row, [string, string]>("SELECT * FROM usage WHERE group_folder = ? AND day = ?");
  const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

  return {
    add(groupFolder: string, u: TokenCounts, now = Date.now()): void {
      add.run(
        groupFolder,
        dayOf(now),
        u.inputTokens,
        u.outputTokens,
        u.cacheReadTokens ?? 0,
        u.cacheWriteTokens ?? 0,
      );
    },
    /** Usage per group per day since `sinceDay` (YYYY-MM-DD). */
    list(sinceDay = "0000-00-00"): UsageRow[] {
      return since.all(sinceDay).map(toUsage);
    },
    /** One group's usage on the (UTC) day of `now`. */
    today(groupFolder: string, now = Date.now()): UsageRow | null {
      const r = one.get(groupFolder, dayOf(now));
      return r ? toUsage(r) : null;
    },
  };
}
export type UsageRepo = ReturnType<typeof createUsageRepo>;
