/**
 * The store: one SQLite database (bun:sqlite, WAL) with typed repositories. Built once in
 * `serve` (or a CLI command) and passed to everything that needs it.
 */
import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { openDatabase, type OpenOptions } from "./db.ts";
import { createGroupRepo } from "./groups.ts";
import { createMessageRepo } from "./messages.ts";
import { createOutboundRepo } from "./outbound.ts";
import { createTaskRepo } from "./tasks.ts";

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
export type { Outbound, UsageRow } from "./outbound.ts";
export type { RunStatus, ScheduledTask, TaskRunLog, TaskStatus } from "./tasks.ts";

export interface Store {
  readonly db: Database;
  readonly file: string;
  readonly messages: ReturnType<typeof createMessageRepo>;
  readonly groups: ReturnType<typeof createGroupRepo>;
  readonly tasks: ReturnType<typeof createTaskRepo>;
  readonly outbound: ReturnType<typeof createOutboundRepo>;
  close(): void;
}

export function openStore(file: string, options: OpenOptions = {}): Store {
  const db = openDatabase(file, options);
  return {
    db,
    file,
    messages: createMessageRepo(db),
    groups: createGroupRepo(db),
    tasks: createTaskRepo(db),
    outbound: createOutboundRepo(db),
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
