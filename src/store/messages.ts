/**
 * Messages and chats: insert (duplicates ignored), read since a cursor, page, full-text search.
 * Statements are prepared once per store.
 */
import type { Database } from "bun:sqlite";
import type { InboundMessage } from "../orchestrator/channel.ts";

export interface StoredMessage {
  seq: number;
  id: string;
  chatJid: string;
  sender: string;
  senderName: string;
  content: string;
  timestamp: number;
  isFromMe: boolean;
  isBot: boolean;
  mentionsBot: boolean;
  threadId: string | null;
  replyToId: string | null;
  attachments: InboundMessage["attachments"] | null;
  /** A plugin dropped it ("plugin: reason"): kept in the history, never shown to the agent. */
  droppedBy: string | null;
}

export interface Chat {
  jid: string;
  name: string | null;
  channel: string;
  isGroup: boolean;
  discoveredAt: number;
  lastMessageAt: number | null;
}

interface MessageRow {
  seq: number;
  id: string;
  chat_jid: string;
  sender: string;
  sender_name: string;
  content: string;
  timestamp: number;
  is_from_me: number;
  is_bot: number;
  mentions_bot: number;
  thread_id: string | null;
  reply_to_id: string | null;
  attachments: string | null;
  dropped_by?: string | null;
}

interface ChatRow {
  jid: string;
  name: string | null;
  channel: string;
  is_group: number;
  discovered_at: number;
  last_message_at: number | null;
}

export function toMessage(r: MessageRow): StoredMessage {
  return {
    seq: r.seq,
    id: r.id,
    chatJid: r.chat_jid,
    sender: r.sender,
    senderName: r.sender_name,
    content: r.content,
    timestamp: r.timestamp,
    isFromMe: r.is_from_me === 1,
    isBot: r.is_bot === 1,
    mentionsBot: r.mentions_bot === 1,
    threadId: r.thread_id,
    replyToId: r.reply_to_id,
    attachments: r.attachments ? JSON.parse(r.attachments) : null,
    droppedBy: r.dropped_by ?? null,
  };
}

function toChat(r: ChatRow): Chat {
  return {
    jid: r.jid,
    name: r.name,
    channel: r.channel,
    isGroup: r.is_group === 1,
    discoveredAt: r.discovered_at,
    lastMessageAt: r.last_message_at,
  };
}

export interface SearchOptions {
  chatJid?: string;
  /** Epoch ms bounds on the message timestamp. */
  from?: number;
  to?: number;
  limit?: number;
  offset?: number;
}

export interface SearchHit extends StoredMessage {
  snippet: string;
}

/**
 * Turn free text into a safe FTS5 query: each word becomes a quoted term, so FTS syntax
 * (`AND`, `"`, `*`, `NEAR(`, column filters) typed by a user is searched for literally. Only the
 * last word (3+ characters) is a prefix term (search as you type): an FTS5 prefix term without a
 * prefix index materializes every matching doclist, so prefixes on every word made common-word
 * searches over a million messages take ~100 ms; exact terms stream newest-first and stop early.
 */
export function ftsQuery(text: string): string | null {
  const terms = text
    .normalize("NFKC")
    .split(/[^\p{L}\p{N}_]+/u)
    .filter(Boolean)
    .slice(0, 16);
  if (terms.length === 0) return null;
  return terms.map((t, i) => (i === terms.length - 1 && t.length >= 3 ? `"${t}"*` : `"${t}"`)).join(" ");
}

export function createMessageRepo(db: Database) {
  const insertMsg = db.query<
    { seq: number },
    [
      string,
      string,
      string,
      string,
      string,
      number,
      number,
      number,
      number,
      string | null,
      string | null,
      string | null,
      number,
    ]
  >(
    `INSERT INTO messages (id, chat_jid, sender, sender_name, content, timestamp, is_from_me, is_bot,
       mentions_bot, thread_id, reply_to_id, attachments, stored_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (chat_jid, id) DO NOTHING RETURNING seq`,
  );
  const upsertChat = db.query<unknown, [string, string | null, string, number, number, number]>(
    `INSERT INTO chats (jid, name, channel, is_group, discovered_at, last_message_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (jid) DO UPDATE SET last_message_at = max(coalesce(last_message_at, 0), excluded.last_message_at),
       name = coalesce(excluded.name, chats.name),
       channel = iif(chats.channel = 'unknown', excluded.channel, chats.channel)`,
  );
  const discoverChat = db.query<unknown, [string, string | null, string, number, number]>(
    `INSERT INTO chats (jid, name, channel, is_group, discovered_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (jid) DO UPDATE SET name = coalesce(excluded.name, chats.name),
       is_group = max(chats.is_group, excluded.is_group),
       channel = iif(chats.channel = 'unknown', excluded.channel, chats.channel)`,
  );
  const since = db.query<MessageRow, [string, number, number]>(
    "SELECT * FROM messages WHERE chat_jid = ? AND seq > ? ORDER BY seq LIMIT ?",
  );
  const page = db.query<MessageRow, [string, number, number]>(
    "SELECT * FROM messages WHERE chat_jid = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
  );
  const bySeq = db.query<MessageRow, [number]>("SELECT * FROM messages WHERE seq = ?");
  const existsQ = db.query<{ one: number }, [string, string]>(
    "SELECT 1 AS one FROM messages WHERE chat_jid = ? AND id = ?",
  );
  const maxSeq = db.query<{ m: number | null }, [string]>(
    "SELECT max(seq) AS m FROM messages WHERE chat_jid = ?",
  );
  const chatsAll = db.query<ChatRow, []>(
    "SELECT * FROM chats ORDER BY coalesce(last_message_at, discovered_at) DESC",
  );
  const chatOne = db.query<ChatRow, [string]>("SELECT * FROM chats WHERE jid = ?");
  const count = db.query<{ n: number }, []>("SELECT count(*) AS n FROM messages");

  /** Lowest and highest seq of the messages a chat / date filter admits (null: none). */
  function seqRange(opts: SearchOptions): { lo: number; hi: number } | null {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (opts.chatJid !== undefined) {
      where.push("chat_jid = ?");
      params.push(opts.chatJid);
    }
    if (opts.from !== undefined) {
      where.push("timestamp >= ?");
      params.push(opts.from);
    }
    if (opts.to !== undefined) {
      where.push("timestamp <= ?");
      params.push(opts.to);
    }
    const row = db
      .query<{ lo: number | null; hi: number | null }, (string | number)[]>(
        `SELECT min(seq) AS lo, max(seq) AS hi FROM messages WHERE ${where.join(" AND ")}`,
      )
      .get(...params);
    return row?.lo != null && row.hi != null ? { lo: row.lo, hi: row.hi } : null;
  }

  function insertOne(m: InboundMessage, now: number, channel: string): number | null {
    const row = insertMsg.get(
      m.id,
      m.chatJid,
      m.sender,
      m.senderName,
      m.content,
      m.timestamp,
      m.isFromMe ? 1 : 0,
      m.isBot ? 1 : 0,
      m.mentionsBot ? 1 : 0,
      m.threadId ?? null,
      m.replyToId ?? null,
      m.attachments?.length ? JSON.stringify(m.attachments) : null,
      now,
    );
    upsertChat.run(m.chatJid, null, channel, 0, now, m.timestamp);
    return row ? row.seq : null;
  }
  const insertManyTx = db.transaction((msgs: InboundMessage[], now: number, channel: string) => {
    let inserted = 0;
    for (const m of msgs) if (insertOne(m, now, channel) !== null) inserted++;
    return inserted;
  });
  const insertOneTx = db.transaction((m: InboundMessage, now: number, channel: string) =>
    insertOne(m, now, channel),
  );

  return {
    /**
     * Insert one message; returns its seq, or null when the id was already stored. `channel`
     * (the sink's channel name) is recorded for a chat seen for the first time.
     */
    insert(m: InboundMessage, now = Date.now(), channel = "unknown"): number | null {
      return insertOneTx(m, now, channel);
    },
    /** Insert many in one transaction; returns how many were new. */
    insertMany(msgs: InboundMessage[], now = Date.now(), channel = "unknown"): number {
      return insertManyTx(msgs, now, channel);
    },
    since(chatJid: string, afterSeq: number, limit = 500): StoredMessage[] {
      return since.all(chatJid, afterSeq, limit).map(toMessage);
    },
    /** Newest first, before `beforeSeq` (exclusive). */
    page(chatJid: string, beforeSeq = Number.MAX_SAFE_INTEGER, limit = 50): StoredMessage[] {
      return page.all(chatJid, beforeSeq, limit).map(toMessage);
    },
    /** A message with this platform id is stored in the chat already (a redelivery). */
    exists(chatJid: string, id: string): boolean {
      return existsQ.get(chatJid, id) !== null;
    },
    get(seq: number): StoredMessage | null {
      const r = bySeq.get(seq);
      return r ? toMessage(r) : null;
    },
    latestSeq(chatJid: string): number {
      return maxSeq.get(chatJid)?.m ?? 0;
    },
    count(): number {
      return count.get()?.n ?? 0;
    },
    search(text: string, opts: SearchOptions = {}): SearchHit[] {
      const q = ftsQuery(text);
      if (!q) return [];
      const where = ["messages_fts MATCH ?"];
      const params: (string | number)[] = [q];
      if (opts.chatJid !== undefined || opts.from !== undefined || opts.to !== undefined) {
        // Narrow the FTS walk to the seq range the filters allow (found through an index): FTS5
        // honours a rowid range, so a narrow or old window no longer walks every newer match.
        const range = seqRange(opts);
        if (!range) return [];
        where.push("messages_fts.rowid BETWEEN ? AND ?");
        params.push(range.lo, range.hi);
      }
      if (opts.chatJid) {
        where.push("m.chat_jid = ?");
        params.push(opts.chatJid);
      }
      if (opts.from !== undefined) {
        where.push("m.timestamp >= ?");
        params.push(opts.from);
      }
      if (opts.to !== undefined) {
        where.push("m.timestamp <= ?");
        params.push(opts.to);
      }
      params.push(Math.min(opts.limit ?? 50, 200), opts.offset ?? 0);
      // Newest first by the FTS rowid (= seq): FTS5 walks its doclists backwards and stops at the
      // LIMIT, where ORDER BY m.seq sorted every match (seconds for a common word in 1M messages).
      const rows = db
        .query<MessageRow & { snippet: string }, (string | number)[]>(
          `SELECT m.*, snippet(messages_fts, 0, '[', ']', '…', 12) AS snippet
           FROM messages_fts JOIN messages m ON m.seq = messages_fts.rowid
           WHERE ${where.join(" AND ")} ORDER BY messages_fts.rowid DESC LIMIT ? OFFSET ?`,
        )
        .all(...params);
      return rows.map((r) => ({ ...toMessage(r), snippet: r.snippet }));
    },
    discoverChat(
      chat: { jid: string; name?: string; isGroup?: boolean },
      now = Date.now(),
      channel = "unknown",
    ): void {
      discoverChat.run(chat.jid, chat.name ?? null, channel, chat.isGroup ? 1 : 0, now);
    },
    chats(): Chat[] {
      return chatsAll.all().map(toChat);
    },
    chat(jid: string): Chat | null {
      const r = chatOne.get(jid);
      return r ? toChat(r) : null;
    },
  };
}
export type MessageRepo = ReturnType<typeof createMessageRepo>;
