/**
 * What the agent has answered, per chat. A chat's cursor is a low watermark: every agent-visible
 * message at or below it is done. Above it, `messages.handled_at` marks the messages a turn
 * answered; the reply that turn produced is saved in the outbox IN THE SAME TRANSACTION, so after
 * any crash a message is either unanswered (and runs again) or answered with its reply saved
 * (and the reply is re-sent from the outbox) — never both, never neither.
 *
 * Agent-visible = not from the bot itself, not from a bot, not dropped by a plugin.
 */
import type { Database } from "bun:sqlite";
import type { InboundMessage } from "../orchestrator/channel.ts";
import { type createMessageRepo, type StoredMessage, toMessage } from "./messages.ts";
import type { NewReply, OutboxRepo, OutboxRow } from "./outbox.ts";

const VISIBLE = "handled_at IS NULL AND is_bot = 0 AND is_from_me = 0 AND dropped_by IS NULL";

export interface CommitTurn {
  chatJid: string;
  /** Seqs of the messages the turn answered (or that were given up). */
  seqs: readonly number[];
  /** Replies to save (in order) with the answer. */
  replies?: readonly NewReply[];
  /** Messages older than this many unanswered ones fall out of the window (see `pending`). */
  window: number;
  now?: number;
}

export function createTurnRepo(
  db: Database,
  outbox: OutboxRepo,
  messages: Pick<ReturnType<typeof createMessageRepo>, "insert">,
) {
  type Row = Parameters<typeof toMessage>[0];
  const cursorGet = db.query<{ seq: number }, [string]>("SELECT seq FROM cursors WHERE chat_jid = ?");
  const cursorSet = db.query<unknown, [string, number, number]>(
    `INSERT INTO cursors (chat_jid, seq, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (chat_jid) DO UPDATE SET seq = max(cursors.seq, excluded.seq), updated_at = excluded.updated_at`,
  );
  const pending = db.query<Row, [string, number, number]>(
    `SELECT * FROM (SELECT * FROM messages WHERE chat_jid = ? AND seq > ? AND ${VISIBLE}
     ORDER BY seq DESC LIMIT ?) ORDER BY seq`,
  );
  const oldestOpen = db.query<{ seq: number }, [string, number]>(
    `SELECT seq FROM messages WHERE chat_jid = ? AND seq > ? AND ${VISIBLE} ORDER BY seq LIMIT 1`,
  );
  const nthNewestOpen = db.query<{ seq: number }, [string, number, number]>(
    `SELECT seq FROM messages WHERE chat_jid = ? AND seq > ? AND ${VISIBLE} ORDER BY seq DESC LIMIT 1 OFFSET ?`,
  );
  const latest = db.query<{ m: number | null }, [string]>(
    "SELECT max(seq) AS m FROM messages WHERE chat_jid = ?",
  );
  const handle = db.query<unknown, [number, number, string]>(
    "UPDATE messages SET handled_at = ? WHERE seq = ? AND chat_jid = ? AND handled_at IS NULL",
  );

  const drop = db.query<unknown, [string, number]>("UPDATE messages SET dropped_by = ? WHERE seq = ?");
  const insertDroppedTx = db.transaction((m: InboundMessage, by: string, now: number, channel?: string) => {
    const seq = messages.insert(m, now, channel);
    if (seq !== null) drop.run(by, seq);
    return seq;
  });

  const skip = db.query<unknown, [number, string, number, number]>(
    `UPDATE messages SET handled_at = ? WHERE chat_jid = ? AND seq > ? AND seq < ? AND ${VISIBLE}`,
  );

  const cursorOf = (jid: string) => cursorGet.get(jid)?.seq ?? 0;

  /** Move the watermark up to the oldest open message (or the window's edge). */
  function advance(jid: string, window: number, now: number): number {
    const cur = cursorOf(jid);
    const oldest = oldestOpen.get(jid, cur);
    let next: number;
    if (!oldest) next = latest.get(jid)?.m ?? cur;
    else {
      next = oldest.seq - 1;
      const edge = nthNewestOpen.get(jid, cur, window);
      // More than `window` messages are open: the ones before the window are never shown.
      if (edge) next = Math.max(next, edge.seq);
    }
    if (next > cur) cursorSet.run(jid, next, now);
    return Math.max(next, cur);
  }

  const commitTx = db.transaction((t: CommitTurn, now: number): OutboxRow[] => {
    for (const seq of t.seqs) handle.run(now, seq, t.chatJid);
    const rows: OutboxRow[] = [];
    for (const r of t.replies ?? []) rows.push(outbox.add(r, now).row);
    advance(t.chatJid, t.window, now);
    return rows;
  });

  return {
    cursor: cursorOf,
    /**
     * The chat's open agent-visible messages after its cursor: the newest `window` of them,
     * oldest first. A flood of messages can never hide the newest (triggering) one.
     */
    pending(chatJid: string, window: number): StoredMessage[] {
      return pending.all(chatJid, cursorOf(chatJid), window).map(toMessage);
    },
    /** Mark messages answered, save the replies and advance the cursor: one transaction. */
    commit(t: CommitTurn): OutboxRow[] {
      return commitTx(t, t.now ?? Date.now());
    },
    /**
     * Messages older than `beforeSeq` that are still open fell out of the window (a flood): they
     * are never shown, so count them as done and move the cursor past them.
     */
    skipBefore(chatJid: string, beforeSeq: number, window: number, now = Date.now()): number {
      const n = skip.run(now, chatJid, cursorOf(chatJid), beforeSeq).changes;
      advance(chatJid, window, now);
      return n;
    },
    /** Store a message a plugin dropped: kept in the history, never agent input. */
    insertDropped(m: InboundMessage, droppedBy: string, now = Date.now(), channel?: string): number | null {
      return insertDroppedTx(m, droppedBy, now, channel);
    },
    /** Advance the cursor over what is done (start-up, after a window moved). */
    advance(chatJid: string, window: number, now = Date.now()): number {
      return advance(chatJid, window, now);
    },
  };
}
export type TurnRepo = ReturnType<typeof createTurnRepo>;
