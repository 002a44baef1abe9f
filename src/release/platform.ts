/**
 * The platforms ngb is released for, how their archives are named, and which one this machine
 * is. Shared by `scripts/release.ts` (what to build), `ngb upgrade` (what to download) and the
 * tests; `install.sh` restates the same names in shell.
 */
import { openSync, readSync, closeSync } from "node:fs";

export interface Platform {
  /** Archive suffix: `linux-x64`, `linux-arm64-musl`, `darwin-arm64`… */
  name: string;
  os: "linux" | "darwin";
  arch: "x64" | "arm64";
  libc?: "musl";
  /** `bun build --compile --target` value. */
  bunTarget: Bun.Build.CompileTarget;
  /** npm package holding the matching Bun runtime (`bin/bun`). */
  runtimePackage: string;
}

function platform(os: Platform["os"], arch: Platform["arch"], libc?: "musl"): Platform {
  const npmArch = arch === "arm64" ? "aarch64" : "x64";
  const suffix = libc ? `-${libc}` : "";
  return {
    name: `${os}-${arch}${suffix}`,
    os,
    arch,
    ...(libc ? { libc } : {}),
    bunTarget: `bun-${os}-${arch}${suffix}` as Bun.Build.CompileTarget,
    runtimePackage: `@oven/bun-${os}-${npmArch}${suffix}`,
  };
}

export const PLATFORMS: readonly Platform[] = [
  platform("linux", "x64"),
  platform("linux", "arm64"),
  platform("linux", "x64", "musl"),
  platform("linux", "arm64", "musl"),
  platform("darwin", "x64"),
  platform("darwin", "arm64"),
];

export class UnsupportedPlatformError extends Error {
  override name = "UnsupportedPlatformError";
}

/** `ngb-<version>-<platform>.tar.gz`. */
export function archiveName(version: string, platformName: string): string {
  return `ngb-${version}-${platformName}.tar.gz`;
}

const VERSION_RE = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/**
 * Version and platform of an archive name, or undefined if it is not one. Platform names are
 * matched from the known list, longest first: a pre-release version has dashes too
 * (`ngb-2.0.0-rc.1-linux-x64-musl.tar.gz`).
 */
export function parseArchiveName(name: string): { version: string; platform: string } | undefined {
  if (!name.startsWith("ngb-")) return undefined;
  const byLength = [...PLATFORMS].sort((a, b) => b.name.length - a.name.length);
  for (const p of byLength) {
    const suffix = `-${p.name}.tar.gz`;
    if (!name.endsWith(suffix)) continue;
    const version = name.slice(4, -suffix.length);
    return VERSION_RE.test(version) ? { version, platform: p.name } : undefined;
  }
  return undefined;
}

/**
 * True when the executable at `path` is linked against musl (its ELF interpreter is
 * `/lib/ld-musl-…`): an upgrade stays on the libc the running binary was built for.
 */
export function isMuslExecutable(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const head = Buffer.alloc(8192);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).includes("/lib/ld-musl-");
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The release platform for an OS/arch pair (Node's names), refusing what is not built. */
export function platformFor(os: string, arch: string, musl = false): Platform {
  const name = `${os}-${arch}${musl ? "-musl" : ""}`;
  const found = PLATFORMS.find((p) => p.name === name);
  if (!found)
    throw new UnsupportedPlatformError(
      `no ngb release for ${name}; released platforms: ${PLATFORMS.map((p) => p.name).join(", ")}`,
    );
  return found;
}

/** This process's platform. */
export function currentPlatform(execPath = process.execPath): Platform {
  return platformFor(
    process.platform,
    process.arch,
    process.platform === "linux" && isMuslExecutable(execPath),
  );
}
