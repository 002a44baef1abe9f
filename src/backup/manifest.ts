/**
 * The backup archive's manifest (`manifest.json`, the first entry): what ngb wrote it, the
 * database's schema version, and the size and SHA-256 of every other entry. Verify and restore
 * trust nothing in an archive that the manifest does not list with a matching digest.
 */
import * as v from "valibot";
import { UserError } from "../util/errors.ts";

export const MANIFEST = "manifest.json";
export const FORMAT = "ngb-backup";
export const FORMAT_VERSION = 1;

/** A relative path with no `..`, no empty or `.` segment, no backslash: safe to join onto a directory. */
const SafePath = v.pipe(
  v.string(),
  v.maxLength(1024),
  v.check(
    (p) =>
      !p.startsWith("/") &&
      !p.includes("\\") &&
      p.split("/").every((s) => s !== "" && s !== "." && s !== ".."),
    "must be a relative path without .. segments",
  ),
);

export const ManifestEntry = v.strictObject({
  path: SafePath,
  size: v.pipe(v.number(), v.integer(), v.minValue(0)),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  /** Kind of content, so restore knows which files need private modes. */
  kind: v.picklist(["database", "config", "groups", "sessions", "secret"]),
});
export type ManifestEntry = v.InferOutput<typeof ManifestEntry>;

export const Manifest = v.strictObject({
  format: v.literal(FORMAT),
  formatVersion: v.pipe(v.number(), v.integer(), v.minValue(1)),
  ngbVersion: v.string(),
  commit: v.string(),
  createdAt: v.string(),
  /** `PRAGMA user_version` of the backed-up database. */
  schemaVersion: v.pipe(v.number(), v.integer(), v.minValue(0)),
  includesSecrets: v.boolean(),
  /** Path of the database inside the archive (`store/<dbFile>`). */
  database: SafePath,
  entries: v.array(ManifestEntry),
});
export type Manifest = v.InferOutput<typeof Manifest>;

export class BackupError extends UserError {
  override name = "BackupError";
}

export function parseManifest(text: string, file: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new BackupError(`${file}: manifest.json is not valid JSON; the backup is corrupt`);
  }
  const r = v.safeParse(Manifest, data);
  if (!r.success) {
    const issue = r.issues[0];
    const where = issue.path?.map((p) => String(p.key)).join(".") ?? "(root)";
    throw new BackupError(
      `${file}: manifest.json is not an ngb backup manifest (${where}: ${issue.message})`,
    );
  }
  if (r.output.formatVersion > FORMAT_VERSION)
    throw new BackupError(
      `${file}: backup format ${r.output.formatVersion} is newer than this ngb reads (${FORMAT_VERSION}); upgrade ngb`,
    );
  return r.output;
}
