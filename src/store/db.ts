/**
 * Opens the SQLite database (bun:sqlite): WAL, busy_timeout, foreign keys, migrations applied on
 * open. Failures become `StoreError`s with one clear line; nothing existing is overwritten. The
 * database, its WAL and shared-memory files are 0600 in a 0700 directory.
 */
import { Database } from "bun:sqlite";
import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../util/errors.ts";
import { ensurePrivateDir, ensurePrivateFile, PRIVATE_FILE_MODE, tighten } from "../util/private-fs.ts";
import { LATEST_VERSION, MIGRATIONS } from "./migrations.ts";

export class StoreError extends UserError {
  override name = "StoreError";
}

export interface OpenOptions {
  /** busy_timeout in ms (default 5000). */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

function describeSqliteError(file: string, err: unknown): StoreError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/locked|busy/i.test(msg))
    return new StoreError(`database ${file} is locked by another process (is another ngb running?)`);
  if (/not a database|malformed|corrupt/i.test(msg))
    return new StoreError(
      `database ${file} is corrupt or not an ngb database (${msg}); restore it from a backup`,
    );
  if (/unable to open|readonly|read-only|permission/i.test(msg))
    return new StoreError(
      `database ${file} cannot be opened for writing (${msg}); check the store directory's permissions`,
    );
  return new StoreError(`database ${file}: ${msg}`);
}

export function openDatabase(file: string, options: OpenOptions = {}): Database {
  if (file !== ":memory:") {
    const dir = dirname(file);
    try {
      if (options.readonly) mkdirSync(dir, { recursive: true });
      else ensurePrivateDir(dir);
      accessSync(dir, constants.W_OK);
    } catch (err) {
      throw new StoreError(
        `store directory ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? err}); set storeDir or fix its permissions`,
      );
    }
    if (existsSync(file)) {
      try {
        accessSync(file, constants.R_OK | constants.W_OK);
      } catch {
        throw new StoreError(`database ${file} is not readable and writable by this user`);
      }
    }
    if (!options.readonly) {
      // SQLite gives -wal and -shm the database file's mode: create it 0600 first, and tighten
      // what an older install left world-readable.
      ensurePrivateFile(file);
      for (const extra of [`${file}-wal`, `${file}-shm`, `${file}-journal`])
        tighten(extra, PRIVATE_FILE_MODE);
    }
  }
  let db: Database;
  try {
    db = new Database(file, { create: !options.readonly, readonly: options.readonly, strict: true });
  } catch (err) {
    throw describeSqliteError(file, err);
  }
  try {
    db.run(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    if (!options.readonly) {
      db.run("PRAGMA journal_mode = WAL");
      db.run("PRAGMA synchronous = NORMAL");
    }
    db.run("PRAGMA foreign_keys = ON");
    migrate(db, file);
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw describeSqliteError(file, err);
  }
  return db;
}

export function schemaVersion(db: Database): number {
  const row = db.query<{ user_version: number }, []>("PRAGMA user_version").get();
  return row?.user_version ?? 0;
}

/** Apply pending migrations; refuse a database written by a newer ngb. */
export function migrate(db: Database, file: string): void {
  // Touch the schema first so a non-database file fails here, not halfway through a migration.
  db.query("SELECT count(*) FROM sqlite_master").get();
  const current = schemaVersion(db);
  if (current > LATEST_VERSION) {
    throw new StoreError(
      `database ${file} has schema version ${current}, newer than this ngb supports (${LATEST_VERSION}); upgrade ngb`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.run(m.sql);
      db.run(`PRAGMA user_version = ${m.version}`);
    }).immediate();
  }
}
