import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compareVersions, formatSums, platformFor, sha256Hex } from "../release/index.ts";
import { findRelease, rollback, upgrade, type UpgradeDeps } from "./index.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) {
    chmodSync(d, 0o755);
    rmSync(d, { recursive: true, force: true });
  }
});

/** A release page in memory, served through an injected fetch (GitHub's URL layout). */
async function page(files: Record<string, Uint8Array | string>, latest = "2.0.0") {
  const calls: string[] = [];
  const fetchFn = (async (input: string | URL | Request) => {
    const url = String(input);
    calls.push(url);
    const m = /\/download\/(v[^/]+)\/(.+)$/.exec(url.replace("/latest/download/", `/download/v${latest}/`));
    const body = m ? files[`${m[1]}/${m[2]}`] : undefined;
    if (body === undefined) return new Response("nope", { status: 404 });
    return new Response(typeof body === "string" ? body : new Blob([body as Uint8Array<ArrayBuffer>]));
  }) as typeof fetch;
  return { fetchFn, calls };
}

/** A tiny "binary": a shell script that prints its version, packed like a release archive. */
async function archive(version: string): Promise<Uint8Array> {
  const script = `#!/bin/sh\necho "ngb ${version} (abc123)"\n`;
  return new Bun.Archive({ ngb: script, "README.md": "r", LICENSE: "l" }, { compress: "gzip" }).bytes();
}

function installDir(): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), "ngb-up-"));
  dirs.push(dir);
  const bin = join(dir, "ngb");
  writeFileSync(bin, '#!/bin/sh\necho "ngb 1.0.0 (old)"\n', { mode: 0o755 });
  return { dir, bin };
}

const probeVersion = async (path: string) => {
  const p = Bun.spawnSync(["sh", path, "--version"]);
  return p.exitCode === 0 ? p.stdout.toString().trim() : undefined;
};

async function deps(files: Record<string, Uint8Array | string>, bin: string, platform = "linux-x64") {
  const { fetchFn, calls } = await page(files);
  const d: UpgradeDeps = {
    fetch: fetchFn,
    releaseUrl: "https://example.test/releases/",
    execPath: bin,
    platform: platformFor(platform.split("-")[0]!, platform.split("-")[1]!, platform.endsWith("-musl")),
    currentVersion: "1.0.0",
    probeVersion,
  };
  return { d, calls };
}

describe("findRelease", () => {
  test("picks this platform's archive (musl vs glibc) from the newest SHA256SUMS, or a given version", async () => {
    const sums = formatSums([
      ["ngb-2.0.0-linux-x64.tar.gz", "a".repeat(64)],
      ["ngb-2.0.0-linux-x64-musl.tar.gz", "b".repeat(64)],
      ["ngb-2.0.0-darwin-arm64.tar.gz", "c".repeat(64)],
    ]);
    const { d, calls } = await deps(
      { "v2.0.0/SHA256SUMS": sums, "v1.5.0/SHA256SUMS": sums },
      "/x/ngb",
      "linux-x64-musl",
    );
    expect(await findRelease(d)).toEqual({
      version: "2.0.0",
      archive: "ngb-2.0.0-linux-x64-musl.tar.gz",
      sha256: "b".repeat(64),
      url: "https://example.test/releases/latest/download/ngb-2.0.0-linux-x64-musl.tar.gz",
    });
    expect(calls[0]).toBe("https://example.test/releases/latest/download/SHA256SUMS");
    await expect(findRelease(d, "1.5.0")).rejects.toThrow(/v1\.5\.0 has no archive for linux-x64-musl/);
    const arm = await deps({ "v2.0.0/SHA256SUMS": sums }, "/x/ngb", "linux-arm64");
    await expect(findRelease(arm.d)).rejects.toThrow(/has no archive for linux-arm64/);
    const bad = await deps({ "v2.0.0/SHA256SUMS": "<html>not sums</html>" }, "/x/ngb");
    await expect(findRelease(bad.d)).rejects.toThrow(/SHA256SUMS line 1 is not/);
  });

  test("versions compare numerically, a release after its pre-releases", () => {
    expect(compareVersions("1.10.0", "1.9.9")).toBeGreaterThan(0);
    expect(compareVersions("2.0.0", "2.0.0-rc.2")).toBeGreaterThan(0);
    expect(compareVersions("2.0.0-rc.10", "2.0.0-rc.2")).toBeGreaterThan(0);
    expect(compareVersions("v1.2.3", "1.2.3")).toBe(0);
  });
});

describe("upgrade and rollback", () => {
  test("replaces the binary, keeps ngb.previous, rolls back; a bad checksum changes nothing", async () => {
    const { dir, bin } = installDir();
    const good = await archive("2.0.0");
    const sums = formatSums([["ngb-2.0.0-linux-x64.tar.gz", sha256Hex(good)]]);
    const tampered = await deps(
      { "v2.0.0/SHA256SUMS": sums, "v2.0.0/ngb-2.0.0-linux-x64.tar.gz": await archive("6.6.6") },
      bin,
    );
    await expect(upgrade(tampered.d)).rejects.toThrow(
      /checksum mismatch for ngb-2\.0\.0-linux-x64\.tar\.gz .*nothing changed/,
    );
    expect(readdirSync(dir)).toEqual(["ngb"]);
    expect(await probeVersion(bin)).toBe("ngb 1.0.0 (old)");

    const { d } = await deps({ "v2.0.0/SHA256SUMS": sums, "v2.0.0/ngb-2.0.0-linux-x64.tar.gz": good }, bin);
    expect(await upgrade(d)).toEqual({ from: "1.0.0", to: "2.0.0", changed: true });
    expect(await probeVersion(bin)).toBe("ngb 2.0.0 (abc123)");
    expect(await probeVersion(`${bin}.previous`)).toBe("ngb 1.0.0 (old)");
    expect(await upgrade({ ...d, currentVersion: "2.0.0" })).toMatchObject({ changed: false });

    expect(await rollback(d)).toEqual({ to: "1.0.0 (old)" });
    expect(await probeVersion(bin)).toBe("ngb 1.0.0 (old)");
    expect(await probeVersion(`${bin}.previous`)).toBe("ngb 2.0.0 (abc123)");
    expect(readdirSync(dir).sort()).toEqual(["ngb", "ngb.previous"]);
  });

  test("refuses an archive whose binary reports another version, and an oversized download", async () => {
    const { dir, bin } = installDir();
    const liar = await archive("9.9.9");
    const sums = formatSums([["ngb-2.0.0-linux-x64.tar.gz", sha256Hex(liar)]]);
    const { d } = await deps({ "v2.0.0/SHA256SUMS": sums, "v2.0.0/ngb-2.0.0-linux-x64.tar.gz": liar }, bin);
    await expect(upgrade(d)).rejects.toThrow(
      /says "ngb 9\.9\.9 \(abc123\)", expected 2\.0\.0; nothing changed/,
    );
    await expect(upgrade({ ...d, maxArchiveBytes: 10 })).rejects.toThrow(/larger than an ngb release can be/);
    expect(readdirSync(dir)).toEqual(["ngb"]);
    expect(readFileSync(bin, "utf8")).toContain("1.0.0");
    await expect(rollback(d)).rejects.toThrow(/nothing to roll back to/);
  });

  test("no write permission to the binary's directory: one clear error, nothing changed", async () => {
    if (process.getuid?.() === 0) return; // root writes anywhere; test/release.test.ts covers install paths as nobody
    const { dir, bin } = installDir();
    chmodSync(dir, 0o555);
    const { d } = await deps(
      { "v2.0.0/SHA256SUMS": formatSums([["ngb-2.0.0-linux-x64.tar.gz", "a".repeat(64)]]) },
      bin,
    );
    await expect(upgrade(d)).rejects.toThrow(/no write permission to/);
  });
});

test("archive names parse with pre-release versions and musl platforms", async () => {
  const { parseArchiveName } = await import("../release/index.ts");
  expect(parseArchiveName("ngb-2.0.0-linux-x64-musl.tar.gz")).toEqual({
    version: "2.0.0",
    platform: "linux-x64-musl",
  });
  expect(parseArchiveName("ngb-2.0.0-rc.1-linux-x64.tar.gz")).toEqual({
    version: "2.0.0-rc.1",
    platform: "linux-x64",
  });
  expect(parseArchiveName("ngb-2.0.0-freebsd-x64.tar.gz")).toBeUndefined();
  expect(parseArchiveName("ngb-latest-linux-x64.tar.gz")).toBeUndefined();
});
