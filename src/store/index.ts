/**
 * The store: one SQLite database (bun:sqlite, WAL) with typed repositories. Built once in
 * `serve` (or a CLI command) and passed to everything that needs it.
 */
import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { openDatabase, type OpenOptions } from "./db.ts";
import { createGroupRepo } from "./groups.ts";
import { createMessageRepo } from "./messages.ts";
import { createOutboxRepo } from "./outbox.ts";
import { createTaskRepo } from "./tasks.ts";
import { createTurnRepo } from "./turns.ts";
import { createUsageRepo } from "./usage.ts";

export { isStoreBusy } from "./busy.ts";
export { StoreError, schemaVersion } from "./db.ts";
export { GroupExistsError, type GroupContainerConfig, type RegisteredGroup } from "./groups.ts";
export {
  type Chat,
  ftsQuery,
  type SearchHit,
  type SearchOptions,
  type StoredMessage,
} from "./messages.ts";
export { LATEST_VERSION } from "./migrations.ts";
export type { NewReply, OutboxRow, OutboxSource, OutboxStatus } from "./outbox.ts";
export type { CommitTurn } from "./turns.ts";
export type { TokenCounts, UsageRow } from "./usage.ts";
export type { RunStatus, ScheduledTask, TaskRunLog, TaskStatus } from "./tasks.ts";

export interface Store {
  readonly db: Database;
  readonly file: string;
  readonly messages: ReturnType<typeof createMessageRepo>;
  readonly groups: ReturnType<typeof createGroupRepo>;
  readonly tasks: ReturnType<typeof createTaskRepo>;
  /** Replies: saved before they are sent, with their send state. */
  readonly outbox: ReturnType<typeof createOutboxRepo>;
  /** Which messages the agent answered (cursor + handled flags), committed with the replies. */
  readonly turns: ReturnType<typeof createTurnRepo>;
  /** Token usage per group per day. */
  readonly usage: ReturnType<typeof createUsageRepo>;
  close(): void;
}

export function openStore(file: string, options: OpenOptions = {}): Store {
  const db = openDatabase(file, options);
  const outbox = createOutboxRepo(db);
  const messages = createMessageRepo(db);
  return {
    db,
    file,
    messages,
    groups: createGroupRepo(db),
    tasks: createTaskRepo(db),
    outbox,
    turns: createTurnRepo(db, outbox, messages),
    usage: createUsageRepo(db),
    close() {
      try {
        db.run("PRAGMA optimize");
      } catch {
        // closing anyway
      }
      db.close();
    },
  };
}

/** The database file for a config's storeDir / dbFile. */
export function storeFile(config: { storeDir: string; dbFile: string }): string {
  return join(config.storeDir, config.dbFile);
}
