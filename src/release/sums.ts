/**
 * `SHA256SUMS`: one `<hex>  <file>` line per release archive, the format `sha256sum -c` and
 * `shasum -a 256 -c` read. It doubles as the release's index: the archive names carry the
 * version and platform.
 */

export class ChecksumError extends Error {
  override name = "ChecksumError";
}

const LINE = /^([0-9a-f]{64}) [ *]([A-Za-z0-9._-]+)$/;

/** Parse a SHA256SUMS file: file name → lowercase hex digest. Bad lines are errors. */
export function parseSums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const m = LINE.exec(line);
    if (!m)
      throw new ChecksumError(`SHA256SUMS line ${i + 1} is not "<sha256>  <file>": "${line.slice(0, 80)}"`);
    out.set(m[2]!, m[1]!);
  }
  if (out.size === 0) throw new ChecksumError("SHA256SUMS lists no files");
  return out;
}

export function formatSums(entries: Iterable<[string, string]>): string {
  return [...entries]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([file, hex]) => `${hex}  ${file}\n`)
    .join("");
}

/** Hex SHA-256 of bytes. */
export function sha256Hex(data: Uint8Array | ArrayBuffer): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

/** A file's bytes in chunks, without reading it whole. */
export async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const reader = Bun.file(path).stream().getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Hex SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of fileChunks(path)) hasher.update(chunk);
  return hasher.digest("hex");
}

/** Compare semver-ish versions `1.2.3` / `1.2.3-rc.1`: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const [ma, pa] = splitPre(a);
  const [mb, pb] = splitPre(b);
  for (let i = 0; i < 3; i++) {
    const d = (ma[i] ?? 0) - (mb[i] ?? 0);
    if (d !== 0) return d;
  }
  if (pa === pb) return 0;
  if (pa === undefined) return 1; // a release sorts after its pre-releases
  if (pb === undefined) return -1;
  return pa.localeCompare(pb, "en", { numeric: true });
}

function splitPre(v: string): [number[], string | undefined] {
  const [main, ...pre] = v.replace(/^v/, "").split("-");
  return [(main ?? "").split(".").map((n) => Number(n) || 0), pre.length ? pre.join("-") : undefined];
}
