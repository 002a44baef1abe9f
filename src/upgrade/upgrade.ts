/**
 * `ngb upgrade`: find the newest release for this platform (its SHA256SUMS is the index),
 * download the archive with a size bound while hashing it, refuse anything whose checksum does
 * not match, check the new binary runs, then swap it in with a rename in the same directory
 * (the old one kept as `ngb.previous` for `--rollback`). Nothing is replaced until all of that
 * has passed.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  copyFileSync,
  chmodSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  ChecksumError,
  compareVersions,
  parseArchiveName,
  parseSums,
  type Platform,
} from "../release/index.ts";
import { UserError } from "../util/errors.ts";

export class UpgradeError extends UserError {
  override name = "UpgradeError";
}

export interface UpgradeDeps {
  fetch: typeof fetch;
  /** Release page base URL (`<url>/latest/download/…`, `<url>/download/v<version>/…`). */
  releaseUrl: string;
  /** The installed binary to replace. */
  execPath: string;
  platform: Platform;
  currentVersion: string;
  /** Run a binary with `--version` (first line of its stdout, or undefined if it fails). */
  probeVersion(path: string): Promise<string | undefined>;
  /** Largest archive accepted (bytes). */
  maxArchiveBytes?: number;
}

export interface ReleaseInfo {
  version: string;
  archive: string;
  sha256: string;
  url: string;
}

const MAX_SUMS_BYTES = 64 * 1024;
const DEFAULT_MAX_ARCHIVE = 400 * 1024 * 1024;

async function get(deps: UpgradeDeps, url: string): Promise<Response> {
  let res: Response;
  try {
    res = await deps.fetch(url, { redirect: "follow" });
  } catch (err) {
    throw new UpgradeError(`cannot reach ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new UpgradeError(`${url}: HTTP ${res.status}`);
  return res;
}

/** The release to install: the newest, or `version`. */
export async function findRelease(deps: UpgradeDeps, version?: string): Promise<ReleaseInfo> {
  const base = deps.releaseUrl.replace(/\/+$/, "");
  const dir = version ? `${base}/download/v${version.replace(/^v/, "")}` : `${base}/latest/download`;
  const res = await get(deps, `${dir}/SHA256SUMS`);
  const text = await res.text();
  if (text.length > MAX_SUMS_BYTES)
    throw new UpgradeError(`${dir}/SHA256SUMS is too large to be a checksum list`);
  let sums: Map<string, string>;
  try {
    sums = parseSums(text);
  } catch (err) {
    throw new UpgradeError(`${dir}/SHA256SUMS: ${(err as Error).message}`);
  }
  for (const [archive, sha256] of sums) {
    const parsed = parseArchiveName(archive);
    if (!parsed || parsed.platform !== deps.platform.name) continue;
    if (version && parsed.version !== version.replace(/^v/, "")) continue;
    return { version: parsed.version, archive, sha256, url: `${dir}/${archive}` };
  }
  throw new UpgradeError(`the release at ${dir} has no archive for ${deps.platform.name}`);
}

/** Download to `dest` while hashing; refuses more than `max` bytes or fewer than announced. */
async function download(deps: UpgradeDeps, url: string, dest: string, max: number): Promise<string> {
  const res = await get(deps, url);
  const announced = Number(res.headers.get("content-length") ?? Number.NaN);
  if (announced > max)
    throw new UpgradeError(`${url} is ${announced} bytes, more than an ngb release can be`);
  if (!res.body) throw new UpgradeError(`${url}: empty response`);
  const hasher = new Bun.CryptoHasher("sha256");
  const fd = openSync(dest, "wx", 0o600);
  let total = 0;
  try {
    const reader = res.body.getReader();
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw new UpgradeError(
          `download of ${url} broke off after ${total} bytes (${(err as Error).message})`,
        );
      }
      if (chunk.done) break;
      total += chunk.value.byteLength;
      if (total > max) throw new UpgradeError(`${url} is larger than an ngb release can be`);
      hasher.update(chunk.value);
      writeSync(fd, chunk.value);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (Number.isFinite(announced) && total !== announced)
    throw new UpgradeError(
      `download of ${url} is truncated (${total} of ${announced} bytes); nothing changed`,
    );
  return hasher.digest("hex");
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported everywhere (some filesystems); the renames are still atomic
  }
}

export function previousPath(execPath: string): string {
  return `${execPath}.previous`;
}

/** Hard-link (or copy) `from` to `to` via a temporary name and a rename. */
function keepCopy(from: string, to: string): void {
  const tmp = `${to}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  try {
    linkSync(from, tmp);
  } catch {
    copyFileSync(from, tmp);
    chmodSync(tmp, statSync(from).mode & 0o777);
  }
  renameSync(tmp, to);
}

export interface UpgradeResult {
  from: string;
  to: string;
  changed: boolean;
}

/** Upgrade (or move to `version`) in place. */
export async function upgrade(deps: UpgradeDeps, opts: { version?: string } = {}): Promise<UpgradeResult> {
  const release = await findRelease(deps, opts.version);
  if (!opts.version && compareVersions(release.version, deps.currentVersion) <= 0)
    return { from: deps.currentVersion, to: release.version, changed: false };
  const dir = dirname(deps.execPath);
  const name = basename(deps.execPath);
  const tmpArchive = join(dir, `.${name}.download-${process.pid}`);
  const tmpBinary = join(dir, `.${name}.new-${process.pid}`);
  try {
    try {
      rmSync(tmpArchive, { force: true });
      closeSync(openSync(tmpArchive, "wx", 0o600));
      rmSync(tmpArchive);
    } catch (err) {
      throw new UpgradeError(
        `no write permission to ${dir} (${(err as NodeJS.ErrnoException).code}); run ngb upgrade as the user that owns ${deps.execPath}`,
      );
    }
    const sha = await download(deps, release.url, tmpArchive, deps.maxArchiveBytes ?? DEFAULT_MAX_ARCHIVE);
    if (sha !== release.sha256)
      throw new ChecksumError(
        `checksum mismatch for ${release.archive} (expected ${release.sha256}, got ${sha}): download corrupt or truncated; nothing changed`,
      );
    let binary: File | undefined;
    try {
      binary = (await new Bun.Archive(await Bun.file(tmpArchive).bytes()).files()).get("ngb");
    } catch (err) {
      throw new UpgradeError(`cannot unpack ${release.archive}: ${(err as Error).message}; nothing changed`);
    }
    if (!binary) throw new UpgradeError(`${release.archive} holds no ngb binary; nothing changed`);
    await Bun.write(tmpBinary, binary);
    chmodSync(tmpBinary, 0o755);
    const fd = openSync(tmpBinary, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const reported = await deps.probeVersion(tmpBinary);
    if (!reported?.startsWith(`ngb ${release.version} `))
      throw new UpgradeError(
        `the downloaded ngb says "${reported ?? "(nothing; it does not run here)"}", expected ${release.version}; nothing changed`,
      );
    keepCopy(deps.execPath, previousPath(deps.execPath));
    renameSync(tmpBinary, deps.execPath);
    fsyncDir(dir);
    return { from: deps.currentVersion, to: release.version, changed: true };
  } catch (err) {
    if (err instanceof ChecksumError) throw new UpgradeError(err.message);
    throw err;
  } finally {
    rmSync(tmpArchive, { force: true });
    rmSync(tmpBinary, { force: true });
  }
}

/** Swap back to `ngb.previous`; the binary rolled back from becomes the new `ngb.previous`. */
export async function rollback(
  deps: Pick<UpgradeDeps, "execPath" | "probeVersion">,
): Promise<{ to: string }> {
  const prev = previousPath(deps.execPath);
  if (!existsSync(prev)) throw new UpgradeError(`nothing to roll back to: ${prev} does not exist`);
  const reported = await deps.probeVersion(prev);
  if (!reported?.startsWith("ngb ")) throw new UpgradeError(`${prev} does not run; not rolling back`);
  const swap = `${deps.execPath}.rollback-${process.pid}`;
  try {
    keepCopy(deps.execPath, swap);
  } catch (err) {
    throw new UpgradeError(
      `no write permission to ${dirname(deps.execPath)} (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  renameSync(prev, deps.execPath);
  renameSync(swap, prev);
  fsyncDir(dirname(deps.execPath));
  return { to: reported.slice(4) };
}
