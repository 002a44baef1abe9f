/**
 * `bun run release`: cross-compiles `ngb` for every released platform, offline apart from the
 * npm registry, and writes `dist/release/`:
 *
 *   ngb-<version>-<platform>.tar.gz   the binary + README.md + LICENSE
 *   SHA256SUMS                        `sha256sum -c` format, every archive
 *   install.sh                        the installer, for `curl … | sh`
 *
 * Each target embeds the Bun runtime from the npm package `@oven/bun-<os>-<arch>[-musl]` pinned
 * to this Bun's exact version (fetched once with `npm pack` into a cache, never a product
 * dependency). Every binary is checked for its version and commit: the one for this machine by
 * running it, the others by finding the embedded string.
 *
 *   bun run release                         # all platforms
 *   bun run release linux-x64 darwin-arm64  # some
 *   bun run release --version 0.2.0 linux-x64 # another version than package.json's (tests)
 *   NGB_RELEASE_CACHE=/tmp/cache NGB_RELEASE_OUT=/tmp/rel bun run release
 */
import { $ } from "bun";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import {
  archiveName,
  fileChunks,
  formatSums,
  PLATFORMS,
  type Platform,
  sha256File,
} from "../src/release/index.ts";

const ROOT = join(import.meta.dir, "..");
const OUT = process.env.NGB_RELEASE_OUT ?? join(ROOT, "dist/release");
/** The binary must stay at most this big (MiB). */
export const MAX_BINARY_MIB = 110;

/** The Bun runtime for a platform, from its npm package at this Bun's version, cached. */
export async function runtimeFor(p: Platform, cacheDir: string, bunVersion = Bun.version): Promise<string> {
  const dir = join(cacheDir, `bun-${bunVersion}`, p.runtimePackage.replace("/", "+"));
  const bin = join(dir, "package", "bin", "bun");
  if (existsSync(bin)) return bin;
  const tmp = mkdtempSync(join(tmpdir(), "ngb-runtime-"));
  try {
    // npm pack checks the tarball against the registry's integrity hash.
    const name = (
      await $`npm pack --silent ${`${p.runtimePackage}@${bunVersion}`}`.cwd(tmp).quiet().text()
    ).trim();
    mkdirSync(dir, { recursive: true });
    await $`tar -xzf ${join(tmp, name.split("\n").pop()!)} -C ${dir}`.quiet();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!existsSync(bin)) throw new Error(`${p.runtimePackage}@${bunVersion} has no bin/bun`);
  chmodSync(bin, 0o755);
  return bin;
}

async function gitCommit(): Promise<string> {
  try {
    const c = (await $`git -C ${ROOT} rev-parse --short=12 HEAD`.quiet().text()).trim();
    const dirty = (await $`git -C ${ROOT} status --porcelain --untracked-files=no`.quiet().text()).trim();
    return dirty ? `${c}-dirty` : c;
  } catch {
    return "unknown";
  }
}

/** True when `needle` occurs in the file (streamed; the binaries are ~100 MiB). */
async function fileContains(path: string, needle: string): Promise<boolean> {
  const n = Buffer.from(needle);
  let carry = Buffer.alloc(0);
  for await (const chunk of fileChunks(path)) {
    const buf = Buffer.concat([carry, Buffer.from(chunk)]);
    if (buf.includes(n)) return true;
    carry = buf.subarray(Math.max(0, buf.length - n.length + 1));
  }
  return false;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const vi = argv.indexOf("--version");
  const version = vi >= 0 ? argv[vi + 1] : pkg.version;
  if (!version || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
    console.error(`--version must look like 1.2.3 (got "${version}")`);
    process.exit(1);
  }
  const wanted = vi >= 0 ? argv.filter((_, i) => i !== vi && i !== vi + 1) : argv;
  const unknown = wanted.filter((w) => !PLATFORMS.some((p) => p.name === w));
  if (unknown.length) {
    console.error(
      `unknown platform ${unknown.join(", ")}; one of ${PLATFORMS.map((p) => p.name).join(", ")}`,
    );
    process.exit(1);
  }
  const targets = wanted.length ? PLATFORMS.filter((p) => wanted.includes(p.name)) : PLATFORMS;
  const cache = process.env.NGB_RELEASE_CACHE ?? join(homedir(), ".cache", "ngb-release");
  const commit = await gitCommit();
  for (const f of ["README.md", "LICENSE", "install.sh"])
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing`);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const stage = mkdtempSync(join(tmpdir(), "ngb-release-"));
  const sums: [string, string][] = [];
  const here = `${process.platform}-${process.arch}`;
  try {
    for (const p of targets) {
      const started = performance.now();
      const runtime = await runtimeFor(p, cache);
      const dir = join(stage, p.name);
      mkdirSync(dir);
      const bin = join(dir, "ngb");
      const built = Bun.spawnSync(
        [
          process.execPath,
          join(ROOT, "scripts/build.ts"),
          "--target",
          p.bunTarget,
          "--outfile",
          bin,
          "--executable-path",
          runtime,
          "--version",
          version,
        ],
        { stdout: "pipe", stderr: "inherit" },
      );
      if (built.exitCode !== 0 || !existsSync(bin)) throw new Error(`build for ${p.name} failed`);
      const size = Bun.file(bin).size / 1024 / 1024;
      if (size > MAX_BINARY_MIB)
        throw new Error(`${p.name}: binary is ${size.toFixed(1)} MiB, over the ${MAX_BINARY_MIB} MiB budget`);
      // The version check: run it where it can run, else find the string build.ts embedded.
      const expected = `${version} (${commit})`;
      if (p.name === here) {
        const out = Bun.spawnSync([bin, "--version"]).stdout.toString().trim();
        if (out !== `ngb ${expected}`)
          throw new Error(`${p.name}: --version says "${out}", expected "ngb ${expected}"`);
      } else if (!(await fileContains(bin, commit)) || !(await fileContains(bin, version))) {
        throw new Error(`${p.name}: commit ${commit} is not embedded in the binary`);
      }
      copyFileSync(join(ROOT, "README.md"), join(dir, "README.md"));
      copyFileSync(join(ROOT, "LICENSE"), join(dir, "LICENSE"));
      const archive = archiveName(version, p.name);
      // Reproducible: fixed owner, order and mtime; gzip without a timestamp.
      await $`tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C ${dir} -cf - ngb README.md LICENSE | gzip -n > ${join(OUT, archive)}`.quiet();
      rmSync(dir, { recursive: true, force: true });
      sums.push([archive, await sha256File(join(OUT, archive))]);
      console.log(
        `${archive}  binary ${size.toFixed(1)} MiB, archive ${(Bun.file(join(OUT, archive)).size / 1024 / 1024).toFixed(1)} MiB  (${Math.round(performance.now() - started)} ms)`,
      );
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  await Bun.write(join(OUT, "SHA256SUMS"), formatSums(sums));
  copyFileSync(join(ROOT, "install.sh"), join(OUT, "install.sh"));
  chmodSync(join(OUT, "install.sh"), 0o755);
  console.log(`\n${OUT}:\n${readFileSync(join(OUT, "SHA256SUMS"), "utf8")}`);
}

if (import.meta.main) await main();
