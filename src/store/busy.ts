/** Is this error SQLite saying another connection holds the lock (SQLITE_BUSY / SQLITE_LOCKED)? */
export function isStoreBusy(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") return true;
  return err.name === "SQLiteError" && /database is locked|database table is locked/i.test(err.message);
}
