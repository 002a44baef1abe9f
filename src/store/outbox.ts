/**
 * The outbox: every reply the host sends is a row here before anything is sent. Its key is the
 * reply's identity, fixed before sending and the same after any crash; its text is saved, so a
 * reply whose fate is open is re-sent from here, never by running the agent again.
 *
 *   pending ──► sending ──► sent        (sent + the history message: one transaction)
 *      ▲           │  └───► failed      (the platform refused: permanent)
 *      └───────────┘ transient failure (retried at next_attempt_at)
 *   sending at start-up (the process died inside a send) ──► pending (re-send) or unknown
 */
import type { Database } from "bun:sqlite";

export type OutboxStatus = "pending" | "sending" | "sent" | "failed" | "unknown" | "cancelled";

/** Where a reply came from (for plugins, the dashboard and the policy for unknown fates). */
export type OutboxSource = "agent" | "ipc" | "task" | "api" | "plugin" | "system";

export interface OutboxRow {
  id: number;
  key: string;
  chatJid: string;
  text: string;
  threadId: string | null;
  replyToId: string | null;
  source: OutboxSource;
  status: OutboxStatus;
  /** Chunks of a split reply the platform already accepted. */
  chunksDone: number;
  attempts: number;
  nextAttemptAt: number | null;
  error: string | null;
  createdAt: number;
  sentAt: number | null;
}

export interface NewReply {
  key: string;
  chatJid: string;
  text: string;
  threadId?: string | null;
  replyToId?: string | null;
  source: OutboxSource;
}

interface Row {
  id: number;
  idem_key: string;
  chat_jid: string;
  text: string;
  thread_id: string | null;
  reply_to_id: string | null;
  source: OutboxSource;
  status: OutboxStatus;
  chunks_done: number;
  attempts: number;
  next_attempt_at: number | null;
  error: string | null;
  created_at: number;
  sent_at: number | null;
}

const toRow = (r: Row): OutboxRow => ({
  id: r.id,
  key: r.idem_key,
  chatJid: r.chat_jid,
  text: r.text,
  threadId: r.thread_id,
  replyToId: r.reply_to_id,
  source: r.source,
  status: r.status,
  chunksDone: r.chunks_done,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  error: r.error,
  createdAt: r.created_at,
  sentAt: r.sent_at,
});

export function createOutboxRepo(db: Database) {
  const insert = db.query<Row, [string, string, string, string | null, string | null, string, number]>(
    `INSERT INTO outbox (idem_key, chat_jid, text, thread_id, reply_to_id, source, status, created_at)
     VALUES (?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (idem_key) DO NOTHING RETURNING *`,
  );
  const byKey = db.query<Row, [string]>("SELECT * FROM outbox WHERE idem_key = ?");
  const byId = db.query<Row, [number]>("SELECT * FROM outbox WHERE id = ?");
  const setStatus = db.query<unknown, [OutboxStatus, string | null, number]>(
    "UPDATE outbox SET status = ?, error = ? WHERE id = ?",
  );
  const sending = db.query<unknown, [number]>(
    "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = NULL WHERE id = ?",
  );
  const chunk = db.query<unknown, [number, number]>(
    "UPDATE outbox SET chunks_done = max(chunks_done, ?) WHERE id = ?",
  );
  const sent = db.query<unknown, [number, number]>(
    "UPDATE outbox SET status = 'sent', error = NULL, sent_at = ?, next_attempt_at = NULL WHERE id = ?",
  );
  const later = db.query<unknown, [string, number, number]>(
    "UPDATE outbox SET status = 'pending', error = ?, next_attempt_at = ? WHERE id = ?",
  );
  const open = db.query<Row, [number]>(
    `SELECT * FROM outbox WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
     ORDER BY id LIMIT 1000`,
  );
  const openChat = db.query<Row, [string]>(
    "SELECT * FROM outbox WHERE chat_jid = ? AND status IN ('pending', 'sending') ORDER BY id",
  );
  const inFlight = db.query<Row, []>("SELECT * FROM outbox WHERE status = 'sending' ORDER BY id");
  const nextDue = db.query<{ t: number | null }, []>(
    "SELECT min(next_attempt_at) AS t FROM outbox WHERE status = 'pending'",
  );
  const recent = db.query<Row, [string, number]>(
    "SELECT * FROM outbox WHERE status = ? ORDER BY id DESC LIMIT ?",
  );

  return {
    /** Record a reply to send; a key seen before returns the earlier row unchanged (`created: false`). */
    add(r: NewReply, now = Date.now()): { row: OutboxRow; created: boolean } {
      const created = insert.get(
        r.key,
        r.chatJid,
        r.text,
        r.threadId ?? null,
        r.replyToId ?? null,
        r.source,
        now,
      );
      if (created) return { row: toRow(created), created: true };
      return { row: toRow(byKey.get(r.key)!), created: false };
    },
    get(id: number): OutboxRow | null {
      const r = byId.get(id);
      return r ? toRow(r) : null;
    },
    byKey(key: string): OutboxRow | null {
      const r = byKey.get(key);
      return r ? toRow(r) : null;
    },
    /** Just before the send call: a crash from here on leaves the fate unknown. */
    markSending(id: number): void {
      sending.run(id);
    },
    /** The platform accepted chunks up to `count` (exclusive). */
    chunksDone(id: number, count: number): void {
      chunk.run(count, id);
    },
    /** Call inside the transaction that also stores the history message. */
    markSent(id: number, now = Date.now()): void {
      sent.run(now, id);
    },
    retryAt(id: number, error: string, at: number): void {
      later.run(error.slice(0, 2000), at, id);
    },
    markFailed(id: number, error: string): void {
      setStatus.run("failed", error.slice(0, 2000), id);
    },
    markUnknown(id: number, note: string): void {
      setStatus.run("unknown", note.slice(0, 2000), id);
    },
    markCancelled(id: number, reason: string): void {
      setStatus.run("cancelled", reason.slice(0, 2000), id);
    },
    /** Pending rows whose next attempt is due, oldest first. */
    due(now = Date.now()): OutboxRow[] {
      return open.all(now).map(toRow);
    },
    /** Unsent rows of one chat, oldest first. */
    openFor(chatJid: string): OutboxRow[] {
      return openChat.all(chatJid).map(toRow);
    },
    /** Rows a previous process was sending when it died. */
    inFlight(): OutboxRow[] {
      return inFlight.all().map(toRow);
    },
    nextDueAt(): number | null {
      return nextDue.get()?.t ?? null;
    },
    recent(status: OutboxStatus, limit = 50): OutboxRow[] {
      return recent.all(status, limit).map(toRow);
    },
  };
}
export type OutboxRepo = ReturnType<typeof createOutboxRepo>;
