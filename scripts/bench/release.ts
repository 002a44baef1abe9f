/**
 * Release and backup figures: the binary size per target, and `backup create` time and archive
 * size for a 1,000,000-message store.
 *
 * Sizes come from `dist/release/` when `bun run release` has run (no build here); otherwise
 * this machine's target is built once (`dist/ngb`). BEFORE is the size with the old build
 * settings (bytecode + linked sourcemaps), measured once per target on this code with the same
 * Bun 1.4.5 runtimes; rebuilding six targets on every bench run would cost minutes.
 *
 * The store is filled with the store's own batch insert (10,000 messages per transaction) once,
 * and kept in the temp dir keyed by schema version and size for later runs.
 *
 *   bun run bench release
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { createBackup } from "../../src/backup/index.ts";
import { PLATFORMS } from "../../src/release/index.ts";
import { LATEST_VERSION, openStore } from "../../src/store/index.ts";

const ROOT = join(import.meta.dir, "../..");
const MESSAGES = Number(process.env.NGB_BENCH_BACKUP_MESSAGES ?? 1_000_000);
const MiB = 1024 * 1024;

/** MiB with bytecode + linked sourcemaps (the build settings before issue 17), per target. */
const BEFORE: Record<string, number> = {
  "linux-x64": 125.3,
  "linux-arm64": 125.4,
  "linux-x64-musl": 119.2,
  "linux-arm64-musl": 118.1,
  "darwin-x64": 114.9,
  "darwin-arm64": 106.4,
};

function binarySizes(): Record<string, number> {
  const dir = join(ROOT, "dist/release");
  const out: Record<string, number> = {};
  if (existsSync(join(dir, "SHA256SUMS"))) {
    for (const p of PLATFORMS) {
      const archive = join(dir, `ngb-${pkg.version}-${p.name}.tar.gz`);
      if (!existsSync(archive)) continue;
      const list = Bun.spawnSync(["tar", "-tzvf", archive, "ngb"]).stdout.toString();
      const size = Number(/^\S+\s+\S+\s+(\d+)\s/.exec(list)?.[1]);
      if (size) out[p.name] = size / MiB;
    }
    if (Object.keys(out).length) return out;
  }
  const bin = join(ROOT, "dist/ngb");
  if (!existsSync(bin))
    Bun.spawnSync([process.execPath, join(ROOT, "scripts/build.ts")], { stderr: "inherit" });
  out[`${process.platform}-${process.arch}`] = Bun.file(bin).size / MiB;
  return out;
}

/** The 1M-message database, generated once per schema version and size. */
function benchStore(): { file: string; fillMs?: number } {
  const file = join(tmpdir(), `ngb-bench-backup-v${LATEST_VERSION}-${MESSAGES}.db`);
  if (existsSync(file)) return { file };
  const partial = `${file}.partial`;
  for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
  const store = openStore(partial);
  const t0 = performance.now();
  for (let i = 0; i < MESSAGES; i += 10_000) {
    const batch = [];
    for (let j = i; j < Math.min(i + 10_000, MESSAGES); j++)
      batch.push({
        id: `m${j}`,
        chatJid: `tg:${j % 200}`,
        sender: `u${j % 31}`,
        senderName: "Bench User",
        content: `message ${j}: the meeting moved to tomorrow, bring the report and coffee`,
        timestamp: 1_700_000_000_000 + j * 1000,
      });
    store.messages.insertMany(batch);
  }
  store.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  store.close();
  renameSync(partial, file);
  return { file, fillMs: performance.now() - t0 };
}

async function backupFigures(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-backup-"));
  try {
    const { file, fillMs } = benchStore();
    mkdirSync(join(dir, "store"));
    copyFileSync(file, join(dir, "store/ngb.db"));
    const dbBytes = Bun.file(join(dir, "store/ngb.db")).size;
    const started = performance.now();
    const r = await createBackup({
      paths: {
        dbFile: join(dir, "store/ngb.db"),
        storeDir: join(dir, "store"),
        dataDir: join(dir, "data"),
        groupsDir: join(dir, "groups"),
        workDir: dir,
      },
      out: join(dir, "backup.tar.gz"),
      includeSecrets: false,
    });
    const ms = performance.now() - started;
    return {
      [`store with ${MESSAGES.toLocaleString("en-US")} messages`]: `${(dbBytes / MiB).toFixed(0)} MiB${fillMs ? ` (filled in ${(fillMs / 1000).toFixed(1)} s)` : " (cached)"}`,
      "backup create: time": `${(ms / 1000).toFixed(1)} s`,
      "backup create: archive size": `${(r.bytes / MiB).toFixed(0)} MiB (gzip)`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, mib] of Object.entries(binarySizes())) {
    const before = BEFORE[name];
    out[`binary size ${name}`] = `${mib.toFixed(1)} MiB${before ? ` (was ${before.toFixed(1)} MiB)` : ""}`;
  }
  Object.assign(out, await backupFigures());
  return out;
}

if (import.meta.main) for (const [k, v] of Object.entries(await bench())) console.log(`${k}: ${v}`);
