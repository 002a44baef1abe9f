/**
 * Delivery tracking: every reply gets a row keyed by an idempotency key before it is sent, so a
 * re-run after a crash skips what was already delivered. Also router state and token usage.
 */
import type { Database } from "bun:sqlite";

export interface Outbound {
  id: number;
  idemKey: string;
  chatJid: string;
  text: string;
  threadId: string | null;
  status: "pending" | "sent" | "failed";
  attempts: number;
  error: string | null;
  createdAt: number;
  sentAt: number | null;
}

interface OutboundRow {
  id: number;
  idem_key: string;
  chat_jid: string;
  text: string;
  thread_id: string | null;
  status: Outbound["status"];
  attempts: number;
  error: string | null;
  created_at: number;
  sent_at: number | null;
}

const toOutbound = (r: OutboundRow): Outbound => ({
  id: r.id,
  idemKey: r.idem_key,
  chatJid: r.chat_jid,
  text: r.text,
  threadId: r.thread_id,
  status: r.status,
  attempts: r.attempts,
  error: r.error,
  createdAt: r.created_at,
  sentAt: r.sent_at,
});

export interface UsageRow {
  groupFolder: string;
  day: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export function createOutboundRepo(db: Database) {
  const claim = db.query<OutboundRow, [string, string, string, string | null, number]>(
    `INSERT INTO outbound (idem_key, chat_jid, text, thread_id, status, created_at) VALUES (?, ?, ?, ?, 'pending', ?)
     ON CONFLICT (idem_key) DO UPDATE SET idem_key = excluded.idem_key RETURNING *`,
  );
  const mark = db.query<unknown, [string, string | null, number | null, number]>(
    "UPDATE outbound SET status = ?, error = ?, sent_at = ?, attempts = attempts + 1 WHERE id = ?",
  );
  const recent = db.query<OutboundRow, [string, number]>(
    "SELECT * FROM outbound WHERE status = ? ORDER BY id DESC LIMIT ?",
  );
  const stateGet = db.query<{ value: string }, [string]>("SELECT value FROM router_state WHERE key = ?");
  const stateSet = db.query<unknown, [string, string]>(
    "INSERT INTO router_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  );
  const usageAdd = db.query<unknown, [string, string, number, number, number, number]>(
    `INSERT INTO usage (group_folder, day, requests, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
     VALUES (?, ?, 1, ?, ?, ?, ?)
     ON CONFLICT (group_folder, day) DO UPDATE SET requests = requests + 1,
       input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
       cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
       cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens`,
  );
  const usageAll = db.query<
    {
      group_folder: string;
      day: string;
      requests: number;
      input_tokens: number;
      output_tokens: number;
      cache_read_tokens: number;
      cache_write_tokens: number;
    },
    [string]
  >("SELECT * FROM usage WHERE day >= ? ORDER BY day DESC, group_folder");

  return {
    /**
     * Record the intent to send (or find the earlier record of it). A row already `sent` means
     * the reply went out before: the caller must not send it again.
     */
    claim(idemKey: string, chatJid: string, text: string, threadId: string | null = null, now = Date.now()) {
      return toOutbound(claim.get(idemKey, chatJid, text, threadId, now)!);
    },
    markSent(id: number, now = Date.now()): void {
      mark.run("sent", null, now, id);
    },
    markFailed(id: number, error: string): void {
      mark.run("failed", error, null, id);
    },
    recent(status: Outbound["status"], limit = 50): Outbound[] {
      return recent.all(status, limit).map(toOutbound);
    },
    getState(key: string): string | null {
      return stateGet.get(key)?.value ?? null;
    },
    setState(key: string, value: string): void {
      stateSet.run(key, value);
    },
    addUsage(
      groupFolder: string,
      u: { inputTokens: number; outputTokens: number; cacheReadTokens?: number; cacheWriteTokens?: number },
      now = Date.now(),
    ): void {
      const day = new Date(now).toISOString().slice(0, 10);
      usageAdd.run(
        groupFolder,
        day,
        u.inputTokens,
        u.outputTokens,
        u.cacheReadTokens ?? 0,
        u.cacheWriteTokens ?? 0,
      );
    },
    /** Usage per group per day since `sinceDay` (YYYY-MM-DD). */
    usage(sinceDay = "0000-00-00"): UsageRow[] {
      return usageAll.all(sinceDay).map((r) => ({
        groupFolder: r.group_folder,
        day: r.day,
        requests: r.requests,
        inputTokens: r.input_tokens,
        outputTokens: r.output_tokens,
        cacheReadTokens: r.cache_read_tokens,
        cacheWriteTokens: r.cache_write_tokens,
      }));
    },
  };
}
export type OutboundRepo = ReturnType<typeof createOutboundRepo>;
