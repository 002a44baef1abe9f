/**
 * `ngb backup create`: one gzip tar archive, consistent while `ngb serve` runs. The database is
 * copied with SQLite's `VACUUM INTO` (an online, transactionally consistent snapshot that WAL
 * readers and writers carry on around), then groups/, the Claude session directories and the
 * config are added; secrets (.env, the web token, WhatsApp's auth state, secret config values)
 * only when asked. Written to a temporary file beside the target and renamed when complete.
 */
import { Database } from "bun:sqlite";
import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { SECRET_KEYS } from "../config/index.ts";
import { sha256File } from "../release/index.ts";
import { schemaVersion } from "../store/index.ts";
import { COMMIT, VERSION } from "../version.ts";
import {
  BackupError,
  FORMAT,
  FORMAT_VERSION,
  MANIFEST,
  type Manifest,
  type ManifestEntry,
} from "./manifest.ts";

export interface BackupPaths {
  /** The database file (`<storeDir>/<dbFile>`). */
  dbFile: string;
  storeDir: string;
  dataDir: string;
  groupsDir: string;
  /** The config file in effect, if any. */
  configFile?: string;
  /** The working directory (where `.env` lives). */
  workDir: string;
}

export interface CreateBackupOptions {
  paths: BackupPaths;
  /** Archive to write; refused if it exists. */
  out: string;
  includeSecrets: boolean;
  now?: () => Date;
}

export interface BackupResult {
  file: string;
  bytes: number;
  manifest: Manifest;
}

/** Keys of the config file that name this machine's directories: a restore lays out its own. */
const LAYOUT_KEYS = ["dataDir", "groupsDir", "storeDir"];

export async function createBackup(opts: CreateBackupOptions): Promise<BackupResult> {
  const { paths } = opts;
  const out = resolve(opts.out);
  if (existsSync(out)) throw new BackupError(`${out} already exists; choose another file name`);
  if (!existsSync(paths.dbFile)) throw new BackupError(`no database at ${paths.dbFile}: nothing to back up`);
  let tmp: string;
  try {
    tmp = mkdtempSync(join(dirname(out), `.${basename(out)}.`));
  } catch (err) {
    throw new BackupError(
      `cannot write into ${dirname(out)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const partial = join(tmp, "archive.tar.gz");
  try {
    const entries: (ManifestEntry & { source: string | Uint8Array })[] = [];
    const add = async (path: string, kind: ManifestEntry["kind"], source: string | Uint8Array) => {
      const sha256 =
        typeof source === "string"
          ? await sha256File(source)
          : new Bun.CryptoHasher("sha256").update(source).digest("hex");
      const size = typeof source === "string" ? Bun.file(source).size : source.byteLength;
      entries.push({ path, kind, size, sha256, source });
    };

    const dbName = basename(paths.dbFile);
    const snapshot = join(tmp, dbName);
    const version = snapshotDatabase(paths.dbFile, snapshot);
    const database = `store/${dbName}`;
    await add(database, "database", snapshot);

    if (paths.configFile && existsSync(paths.configFile))
      await add("ngb.config.json", "config", configForBackup(paths.configFile, opts.includeSecrets));
    for (const f of walk(paths.groupsDir)) await add(`groups/${f.rel}`, "groups", f.abs);
    for (const f of walk(join(paths.dataDir, "sessions")))
      await add(`data/sessions/${f.rel}`, "sessions", f.abs);
    if (opts.includeSecrets) {
      const env = join(paths.workDir, ".env");
      if (isFile(env)) await add(".env", "secret", env);
      const token = join(paths.dataDir, "web-token");
      if (isFile(token)) await add("data/web-token", "secret", token);
      for (const f of walk(join(paths.storeDir, "whatsapp-auth")))
        await add(`store/whatsapp-auth/${f.rel}`, "secret", f.abs);
    }

    const manifest: Manifest = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      ngbVersion: VERSION,
      commit: COMMIT,
      createdAt: (opts.now?.() ?? new Date()).toISOString(),
      schemaVersion: version,
      includesSecrets: opts.includeSecrets,
      database,
      entries: entries.map(({ source: _s, ...e }) => e),
    };
    const files: Record<string, Blob | Uint8Array | string> = {
      [MANIFEST]: `${JSON.stringify(manifest, null, 2)}\n`,
    };
    // Bun.Archive takes contents in memory (a lazy Bun.file would be written empty).
    for (const e of entries)
      files[e.path] = typeof e.source === "string" ? await Bun.file(e.source).bytes() : e.source;
    await Bun.Archive.write(partial, files, { compress: "gzip" });
    const fd = openSync(partial, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partial, out);
    return { file: out, bytes: Bun.file(out).size, manifest };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `VACUUM INTO` from a read-only connection: a consistent copy without blocking serve's writes. */
function snapshotDatabase(file: string, target: string): number {
  let db: Database;
  try {
    db = new Database(file, { readonly: true, strict: true });
  } catch (err) {
    throw new BackupError(`cannot open the database ${file}: ${(err as Error).message}`);
  }
  try {
    db.run("PRAGMA busy_timeout = 10000");
    const version = schemaVersion(db);
    db.query("VACUUM INTO ?").run(target);
    return version;
  } catch (err) {
    throw new BackupError(`cannot snapshot the database ${file}: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

/** The config file as JSON with secret values and machine-specific directories removed. */
function configForBackup(file: string, includeSecrets: boolean): Uint8Array {
  const text = readFileSync(file, "utf8");
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new BackupError(`config file ${file} is not valid JSON; fix it before backing up`);
  }
  for (const key of LAYOUT_KEYS) delete data[key];
  if (!includeSecrets) for (const path of SECRET_KEYS) deletePath(data, path.split("."));
  return new TextEncoder().encode(`${JSON.stringify(data, null, 2)}\n`);
}

function deletePath(obj: Record<string, unknown>, parts: string[]): void {
  const [head, ...rest] = parts;
  if (head === undefined || !Object.hasOwn(obj, head)) return;
  if (rest.length === 0) delete obj[head];
  else if (obj[head] && typeof obj[head] === "object") deletePath(obj[head] as Record<string, unknown>, rest);
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** Regular files under `dir` (symlinks, sockets and fifos are skipped, never followed). */
function* walk(dir: string, root = dir): Generator<{ abs: string; rel: string }> {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const abs = join(dir, name);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) yield* walk(abs, root);
    else if (st.isFile()) yield { abs, rel: relative(root, abs).split("\\").join("/") };
  }
}
