/** Backups: one archive with a manifest (see create.ts, restore.ts, manifest.ts). */
export { type BackupPaths, type BackupResult, createBackup, type CreateBackupOptions } from "./create.ts";
export { BackupError, type Manifest, type ManifestEntry } from "./manifest.ts";
export { restoreBackup, type RestoreResult, type VerifiedBackup, verifyBackup } from "./restore.ts";
