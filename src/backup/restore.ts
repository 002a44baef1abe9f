/**
 * `ngb backup verify` and `ngb backup restore`. Verify reads the whole archive, checks every
 * entry against the manifest (nothing missing, nothing extra, sizes and SHA-256 equal), the
 * schema version against this ngb's, and the database's own integrity. Restore verifies first,
 * then writes onto an empty directory only, through a staging directory renamed into place, so
 * a refused restore leaves nothing behind.
 */
import { Database } from "bun:sqlite";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { LATEST_VERSION } from "../store/index.ts";
import { BackupError, MANIFEST, type Manifest, parseManifest } from "./manifest.ts";

/** Refuse archives larger than this before reading them into memory (bytes). */
export const MAX_ARCHIVE_BYTES = 8 * 1024 ** 3;

export interface VerifiedBackup {
  manifest: Manifest;
  files: Map<string, File>;
}

/** Check an archive; with `checkDatabase`, also run SQLite's integrity check on its database. */
export async function verifyBackup(
  file: string,
  latestSchema = LATEST_VERSION,
  options: { checkDatabase?: boolean } = {},
): Promise<VerifiedBackup> {
  const path = resolve(file);
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new BackupError(`${path}: no such backup file`);
  }
  if (size > MAX_ARCHIVE_BYTES)
    throw new BackupError(`${path}: ${size} bytes is larger than a backup can be`);
  let files: Map<string, File>;
  try {
    files = await new Bun.Archive(await Bun.file(path).bytes()).files();
  } catch (err) {
    throw new BackupError(
      `${path}: not a readable backup archive (${(err as Error).message}); it is corrupt or truncated`,
    );
  }
  const m = files.get(MANIFEST);
  if (!m) throw new BackupError(`${path}: no manifest.json; not an ngb backup, or corrupt or truncated`);
  const manifest = parseManifest(await m.text(), path);
  if (manifest.schemaVersion > latestSchema)
    throw new BackupError(
      `${path}: database schema version ${manifest.schemaVersion} is newer than this ngb supports (${latestSchema}); upgrade ngb before restoring`,
    );
  const listed = new Set(manifest.entries.map((e) => e.path));
  for (const name of files.keys())
    if (name !== MANIFEST && !listed.has(name))
      throw new BackupError(`${path}: ${name} is not in the manifest; the backup was altered`);
  if (!listed.has(manifest.database)) throw new BackupError(`${path}: the manifest lists no database entry`);
  for (const e of manifest.entries) {
    const f = files.get(e.path);
    if (!f) throw new BackupError(`${path}: ${e.path} is missing; the backup is truncated`);
    const bytes = await f.bytes();
    if (bytes.byteLength !== e.size)
      throw new BackupError(
        `${path}: ${e.path} is ${bytes.byteLength} bytes, the manifest says ${e.size}; corrupt`,
      );
    if (new Bun.CryptoHasher("sha256").update(bytes).digest("hex") !== e.sha256)
      throw new BackupError(`${path}: ${e.path} does not match its SHA-256 in the manifest; corrupt`);
  }
  if (options.checkDatabase) {
    const tmp = mkdtempSync(join(tmpdir(), "ngb-verify-"));
    try {
      const db = join(tmp, "check.db");
      await Bun.write(db, files.get(manifest.database)!);
      checkDatabase(db, latestSchema);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return { manifest, files };
}

export interface RestoreResult {
  manifest: Manifest;
  dir: string;
  entries: number;
}

/** Restore a verified archive onto `target`, which must be missing or empty. */
export async function restoreBackup(
  file: string,
  target: string,
  latestSchema = LATEST_VERSION,
): Promise<RestoreResult> {
  const dir = resolve(target);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new BackupError(`${dir} exists and is not a directory`);
    if (readdirSync(dir).length > 0)
      throw new BackupError(`${dir} is not empty; restore only onto a new or empty directory`);
  }
  const { manifest, files } = await verifyBackup(file, latestSchema);
  mkdirSync(dirname(dir), { recursive: true });
  const stage = mkdtempSync(join(dirname(dir), `.${basename(dir)}.restore-`));
  try {
    for (const e of manifest.entries) {
      const dest = join(stage, e.path);
      mkdirSync(dirname(dest), { recursive: true, mode: e.kind === "secret" ? 0o700 : 0o755 });
      await Bun.write(dest, files.get(e.path)!);
      if (e.kind === "secret") chmodSync(dest, 0o600);
    }
    checkDatabase(join(stage, manifest.database), latestSchema);
    for (const sub of ["data", "groups", "store"]) mkdirSync(join(stage, sub), { recursive: true });
    if (existsSync(dir)) rmSync(dir, { recursive: true }); // empty, checked above
    renameSync(stage, dir);
  } catch (err) {
    rmSync(stage, { recursive: true, force: true });
    throw err;
  }
  return { manifest, dir, entries: manifest.entries.length };
}

/** The restored database opens, passes SQLite's integrity check and has a schema we can run. */
function checkDatabase(file: string, latestSchema: number): void {
  let db: Database | undefined;
  try {
    db = new Database(file, { readonly: true, strict: true });
    const ok = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").get();
    if (ok?.integrity_check !== "ok")
      throw new BackupError(`the database in the backup fails SQLite's integrity check`);
    const v = db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version ?? 0;
    if (v > latestSchema)
      throw new BackupError(
        `the database in the backup has schema version ${v}, newer than this ngb supports (${latestSchema})`,
      );
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError(`the database in the backup cannot be opened: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
}
