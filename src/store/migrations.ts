/**
 * Versioned schema migrations, embedded in the binary. `PRAGMA user_version` holds the applied
 * version; each migration runs in a transaction. Append only: never edit a released migration.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Triggers keeping messages_fts in sync with messages (v1 creates them; v3 recreates them). */
const FTS_TRIGGERS = `CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts (rowid, content, sender_name) VALUES (new.seq, new.content, new.sender_name);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content, sender_name)
  VALUES ('delete', old.seq, old.content, old.sender_name);
END;
CREATE TRIGGER messages_au AFTER UPDATE OF content, sender_name ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content, sender_name)
  VALUES ('delete', old.seq, old.content, old.sender_name);
  INSERT INTO messages_fts (rowid, content, sender_name) VALUES (new.seq, new.content, new.sender_name);
END;`;

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "initial",
    sql: `
CREATE TABLE chats (
  jid TEXT PRIMARY KEY,
  name TEXT,
  channel TEXT NOT NULL,
  is_group INTEGER NOT NULL DEFAULT 0,
  discovered_at INTEGER NOT NULL,
  last_message_at INTEGER
);

-- seq is the cursor: monotonically increasing, never reused (AUTOINCREMENT).
CREATE TABLE messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  chat_jid TEXT NOT NULL,
  sender TEXT NOT NULL,
  sender_name TEXT NOT NULL,
  content TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  is_from_me INTEGER NOT NULL DEFAULT 0,
  is_bot INTEGER NOT NULL DEFAULT 0,
  mentions_bot INTEGER NOT NULL DEFAULT 0,
  thread_id TEXT,
  reply_to_id TEXT,
  attachments TEXT,
  stored_at INTEGER NOT NULL,
  UNIQUE (chat_jid, id)
);
CREATE INDEX messages_chat_seq ON messages (chat_jid, seq);
CREATE INDEX messages_chat_time ON messages (chat_jid, timestamp);

CREATE VIRTUAL TABLE messages_fts USING fts5 (
  content, sender_name, content='messages', content_rowid='seq', tokenize='unicode61'
);
${FTS_TRIGGERS}

CREATE TABLE registered_groups (
  jid TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  folder TEXT NOT NULL UNIQUE,
  trigger_pattern TEXT,
  requires_trigger INTEGER NOT NULL DEFAULT 1,
  is_main INTEGER NOT NULL DEFAULT 0,
  container_config TEXT,
  added_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX registered_groups_one_main ON registered_groups (is_main) WHERE is_main = 1;

-- Cursor per group chat: the last message seq handed to the agent and delivered.
CREATE TABLE cursors (
  chat_jid TEXT PRIMARY KEY,
  seq INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);

CREATE TABLE sessions (
  group_folder TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE scheduled_tasks (
  id TEXT PRIMARY KEY,
  group_folder TEXT NOT NULL,
  chat_jid TEXT NOT NULL,
  prompt TEXT NOT NULL,
  schedule_type TEXT NOT NULL CHECK (schedule_type IN ('cron', 'interval', 'once')),
  schedule_value TEXT NOT NULL,
  timezone TEXT,
  context_mode TEXT NOT NULL DEFAULT 'isolated' CHECK (context_mode IN ('group', 'isolated')),
  catch_up TEXT NOT NULL DEFAULT 'run-once' CHECK (catch_up IN ('run-once', 'skip')),
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'completed', 'cancelled')),
  next_run INTEGER,
  last_run INTEGER,
  last_result TEXT,
  last_error TEXT,
  -- A run in flight: the due time it was claimed for, and when. Cleared with the run's outcome.
  claimed_for INTEGER,
  claimed_at INTEGER,
  created_by TEXT NOT NULL DEFAULT 'cli',
  created_at INTEGER NOT NULL
);
CREATE INDEX scheduled_tasks_due ON scheduled_tasks (status, next_run);
CREATE INDEX scheduled_tasks_group ON scheduled_tasks (group_folder);

CREATE TABLE task_run_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL,
  scheduled_for INTEGER,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER,
  status TEXT NOT NULL CHECK (status IN ('running', 'success', 'error', 'skipped', 'timed-out')),
  result TEXT,
  error TEXT
);
CREATE INDEX task_run_logs_task ON task_run_logs (task_id, id);

CREATE TABLE router_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Every reply the host sends: the idempotency key makes a re-run after a crash a no-op.
CREATE TABLE outbound (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idem_key TEXT NOT NULL UNIQUE,
  chat_jid TEXT NOT NULL,
  text TEXT NOT NULL,
  thread_id TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  created_at INTEGER NOT NULL,
  sent_at INTEGER
);
CREATE INDEX outbound_status ON outbound (status, id);

CREATE TABLE usage (
  group_folder TEXT NOT NULL,
  day TEXT NOT NULL,
  requests INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (group_folder, day)
);
`,
  },
  {
    version: 2,
    name: "messages by time",
    // Lets a search with a date window find its seq range without scanning the table.
    sql: "CREATE INDEX messages_time ON messages (timestamp);",
  },
  {
    version: 3,
    name: "fts prefix index",
    // A 3-character prefix index: search-as-you-type on a short common prefix ("the*") reads one
    // doclist instead of merging every word that starts with it. Rebuilt from messages.
    sql: `
DROP TRIGGER messages_ai;
DROP TRIGGER messages_ad;
DROP TRIGGER messages_au;
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5 (
  content, sender_name, content='messages', content_rowid='seq', tokenize='unicode61', prefix='3'
);
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
${FTS_TRIGGERS}
`,
  },
  {
    version: 4,
    name: "exactly-once replies",
    // messages.handled_at: the agent answered this message (set in the same transaction as the
    // reply it produced is saved). The cursor stays a low watermark; above it, handled_at says
    // which messages are done, so answers to different threads can complete in any order.
    // messages.dropped_by: a plugin dropped it ("plugin: reason"); stored, never agent input.
    // No extra index: the open messages are read on messages_chat_seq from the cursor up, and
    // the cursor keeps that range short (a partial index cost ~22 % of batched insert speed).
    // outbox replaces outbound: the reply text is saved before sending, with its send state.
    // Old 'pending' rows are claims whose fate v3 never recorded: unknown, never re-sent.
    sql: `
ALTER TABLE messages ADD COLUMN handled_at INTEGER;
ALTER TABLE messages ADD COLUMN dropped_by TEXT;

CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idem_key TEXT NOT NULL UNIQUE,
  chat_jid TEXT NOT NULL,
  text TEXT NOT NULL,
  thread_id TEXT,
  reply_to_id TEXT,
  source TEXT NOT NULL DEFAULT 'agent',
  status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'cancelled')),
  chunks_done INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  error TEXT,
  created_at INTEGER NOT NULL,
  sent_at INTEGER
);
INSERT INTO outbox (id, idem_key, chat_jid, text, thread_id, status, attempts, error, created_at, sent_at)
  SELECT id, idem_key, chat_jid, text, thread_id,
         CASE status WHEN 'pending' THEN 'unknown' ELSE status END, attempts, error, created_at, sent_at
  FROM outbound;
DROP TABLE outbound;
CREATE INDEX outbox_open ON outbox (status, next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_chat ON outbox (chat_jid, id);
CREATE INDEX outbox_status ON outbox (status, id);
`,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
