/**
 * The release life cycle for real: `bun run release` cross-compiles every platform (Bun
 * runtimes from npm) into archives + SHA256SUMS; a second release (0.2.0, this platform only)
 * stands in for "the next version". A local server on 127.0.0.1 serves both the way GitHub's
 * release pages do (`/latest/download/…` redirects to `/download/v<version>/…`), and can serve
 * a corrupted, truncated or broken download. `install.sh` and `ngb upgrade` run against it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { isMuslExecutable, PLATFORMS, parseSums, sha256File } from "../src/release/index.ts";
import { isolatedEnv, ROOT, tempWorkdir } from "./support/ngb.ts";

const V1 = pkg.version;
const V2 = "99.0.0";
const here = `${process.platform}-${process.arch}`;
const commit = Bun.spawnSync(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"]).stdout.toString().trim();
const w = tempWorkdir("ngb-release-");
const out1 = join(w.dir, "r1");
const out2 = join(w.dir, "r2");
let mode: "ok" | "corrupt" | "truncated" | "broken" = "ok";
let server: ReturnType<typeof Bun.serve> | undefined;
let base = "";
let brokenBody = new Uint8Array();
let broken: Bun.TCPSocketListener | undefined;

function release(out: string, ...args: string[]) {
  const p = Bun.spawnSync([process.execPath, join(ROOT, "scripts/release.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, NGB_RELEASE_OUT: out },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (p.exitCode !== 0) throw new Error(`release ${args.join(" ")} failed:\n${p.stdout}\n${p.stderr}`);
  return p.stdout.toString();
}

beforeAll(() => {
  release(out1);
  release(out2, "--version", V2, here);
  const dirs: Record<string, string> = { [V1]: out1, [V2]: out2 };
  broken = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${brokenBody.length}\r\nConnection: close\r\n\r\n`);
        socket.write(brokenBody.subarray(0, 64 * 1024));
        socket.end();
      },
    },
  });
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const latest = /^\/releases\/latest\/download\/([^/]+)$/.exec(path);
      if (latest) return Response.redirect(`/releases/download/v${V2}/${latest[1]}`, 302);
      const m = /^\/releases\/download\/v([^/]+)\/([^/]+)$/.exec(path);
      const dir = m ? dirs[m[1]!] : undefined;
      if (!m || !dir || !readdirSync(dir).includes(m[2]!)) return new Response("Not Found", { status: 404 });
      const bytes = new Uint8Array(readFileSync(join(dir, m[2]!)));
      if (!m[2]!.endsWith(".tar.gz") || mode === "ok") return new Response(bytes);
      if (mode === "corrupt") {
        bytes[Math.floor(bytes.length / 2)]! ^= 0x55;
        return new Response(bytes);
      }
      if (mode === "truncated") return new Response(bytes.subarray(0, Math.floor(bytes.length / 3)));
      // broken: the connection drops halfway through the body (a raw socket says more than it sends)
      brokenBody = bytes;
      return Response.redirect(`http://127.0.0.1:${broken?.port}/${m[2]}`, 302);
    },
  });
  base = `http://127.0.0.1:${server.port}/releases`;
}, 600_000);

afterAll(() => {
  server?.stop(true);
  broken?.stop(true);
  w[Symbol.dispose]();
});

describe("bun run release", () => {
  test("one archive per platform (binary, README, LICENSE) and a SHA256SUMS that matches them", async () => {
    const sums = parseSums(readFileSync(join(out1, "SHA256SUMS"), "utf8"));
    expect([...sums.keys()].sort()).toEqual(PLATFORMS.map((p) => `ngb-${V1}-${p.name}.tar.gz`).sort());
    for (const [file, hex] of sums) expect(await sha256File(join(out1, file))).toBe(hex);
    const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: out1 });
    expect(check.exitCode).toBe(0);
    for (const p of PLATFORMS) {
      const list = Bun.spawnSync([
        "tar",
        "-tzvf",
        join(out1, `ngb-${V1}-${p.name}.tar.gz`),
      ]).stdout.toString();
      expect(list).toMatch(/^-rwxr-xr-x .* ngb$/m);
      expect(list).toMatch(/ README\.md$/m);
      expect(list).toMatch(/ LICENSE$/m);
      const size = Number(/^\S+ \S+\s+(\d+) .* ngb$/m.exec(list)?.[1]);
      expect(size).toBeGreaterThan(50 * 1024 * 1024);
      expect(size).toBeLessThanOrEqual(110 * 1024 * 1024);
    }
    // The binaries are for their platforms (ELF machine / Mach-O CPU type in the header).
    const x = join(w.dir, "x");
    mkdirSync(x);
    for (const [name, magic] of [
      ["linux-arm64", /ELF 64-bit.*aarch64/],
      ["linux-x64-musl", /ELF 64-bit.*x86-64.*ld-musl/],
      ["darwin-arm64", /Mach-O 64-bit arm64/],
      ["darwin-x64", /Mach-O 64-bit x86_64/],
    ] as const) {
      mkdirSync(join(x, name));
      Bun.spawnSync(["tar", "-xzf", join(out1, `ngb-${V1}-${name}.tar.gz`), "-C", join(x, name), "ngb"]);
      const file = Bun.spawnSync(["file", "-b", join(x, name, "ngb")]);
      if (file.exitCode === 0) expect(file.stdout.toString()).toMatch(magic);
      expect(isMuslExecutable(join(x, name, "ngb"))).toBe(name.endsWith("-musl"));
      // ...and carry this checkout's commit (printed by --version, which only the host can run).
      expect(readFileSync(join(x, name, "ngb")).includes(commit)).toBe(true);
    }
    expect(readFileSync(join(out1, "install.sh"), "utf8")).toStartWith("#!/bin/sh");
  }, 60_000);
});

/** Run a command asynchronously (the release server lives in this process: never spawnSync). */
async function run(argv: string[], opts: { cwd: string; env: Record<string, string> }) {
  const p = Bun.spawn(argv, { ...opts, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 90_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Run install.sh with the local release page; `as` runs it as another user (root tests). */
function install(args: string[], env: Record<string, string> = {}, as?: string) {
  const cmd = ["sh", join(ROOT, "install.sh"), ...args];
  const argv = as ? ["setpriv", `--reuid=${as}`, `--regid=${as}`, "--clear-groups", ...cmd] : cmd;
  return run(argv, {
    cwd: w.dir,
    env: { ...isolatedEnv(w.dir), HOME: join(w.dir, "home"), NGB_RELEASE_URL: base, ...env },
  });
}

function version(bin: string): string {
  return Bun.spawnSync([bin, "--version"]).stdout.toString().trim();
}

function oneLine(r: { code: number; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

describe("install.sh", () => {
  const prefix = join(w.dir, "prefix");

  test("installs the newest release, or --version, verified, and says what to run next", async () => {
    mode = "ok";
    const latest = await install(["--prefix", prefix]);
    expect(latest.stderr).toBe("");
    expect(latest.code).toBe(0);
    expect(latest.stdout).toContain(`installed ngb ${V2} (`);
    expect(latest.stdout).toContain("ngb service install");
    expect(version(join(prefix, "ngb"))).toStartWith(`ngb ${V2} (`);
    const pinned = await install(["--prefix", prefix, "--version", V1]);
    expect(pinned.code).toBe(0);
    expect(version(join(prefix, "ngb"))).toStartWith(`ngb ${V1} (`);
    // Default prefix for a non-root user: ~/.local/bin.
    if (process.getuid?.() !== 0) {
      expect((await install([])).code).toBe(0);
      expect(version(join(w.dir, "home/.local/bin/ngb"))).toStartWith(`ngb ${V2}`);
    }
  }, 120_000);

  test("refuses a corrupted, truncated or broken download; the installed ngb is untouched", async () => {
    const before = readFileSync(join(prefix, "ngb"));
    for (const [m, pattern] of [
      ["corrupt", /checksum mismatch for ngb-.*\.tar\.gz .*nothing installed/],
      ["truncated", /checksum mismatch .*corrupt or truncated/],
      ["broken", /cannot download .*\.tar\.gz/],
    ] as const) {
      mode = m;
      oneLine(await install(["--prefix", prefix]), pattern);
      expect(readFileSync(join(prefix, "ngb")).equals(before)).toBe(true);
      expect(readdirSync(prefix)).toEqual(["ngb"]);
    }
    mode = "ok";
  }, 120_000);

  test("refuses an unsupported platform, a missing version, no write permission", async () => {
    const shim = join(w.dir, "shim");
    mkdirSync(shim, { recursive: true });
    writeFileSync(
      join(shim, "uname"),
      '#!/bin/sh\ncase "$1" in -s) echo FreeBSD ;; -m) echo amd64 ;; esac\n',
    );
    chmodSync(join(shim, "uname"), 0o755);
    oneLine(
      await install(["--prefix", prefix], { PATH: `${shim}:${process.env.PATH}` }),
      /unsupported platform: FreeBSD amd64/,
    );
    oneLine(
      await install(["--prefix", prefix, "--version", "0.0.1"]),
      /cannot download .*v0\.0\.1\/SHA256SUMS/,
    );
    const locked = join(w.dir, "locked");
    mkdirSync(locked, { mode: 0o755 });
    if (process.getuid?.() === 0) {
      // root writes anywhere: run the installer as nobody against a root-owned directory.
      chmodSync(w.dir, 0o755);
      oneLine(
        await install(["--prefix", locked], { HOME: "/nonexistent" }, "65534"),
        /no write permission to .*locked/,
      );
    } else {
      chmodSync(locked, 0o555);
      oneLine(await install(["--prefix", locked]), /no write permission to .*locked/);
    }
    expect(readdirSync(locked)).toEqual([]);
    oneLine(await install(["--bogus"]), /unknown option "--bogus"/);
  }, 120_000);
});

describe("ngb upgrade", () => {
  const dir = join(w.dir, "up");
  const bin = join(dir, "ngb");
  const ngb = (...args: string[]) =>
    run([bin, ...args, "--release-url", base, "--no-restart"], { cwd: dir, env: isolatedEnv(dir) });

  test("--check, refusals that leave the binary alone, the upgrade itself, --rollback", async () => {
    mkdirSync(dir, { recursive: true });
    Bun.spawnSync(["tar", "-xzf", join(out1, `ngb-${V1}-${here}.tar.gz`), "-C", dir, "ngb"]);
    expect(version(bin)).toStartWith(`ngb ${V1} (`);
    mode = "ok";
    const check = await ngb("upgrade", "--check");
    expect(check.stdout).toContain(`ngb ${V2} is available (this is ${V1})`);
    expect(check.code).toBe(10);

    const original = readFileSync(bin);
    for (const [m, pattern] of [
      ["corrupt", /^error: checksum mismatch for ngb-.*nothing changed$/],
      ["truncated", /^error: checksum mismatch/],
      ["broken", /^error: download of .* broke off|truncated/],
    ] as const) {
      mode = m;
      const r = await ngb("upgrade");
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(pattern);
      expect(readFileSync(bin).equals(original)).toBe(true);
      expect(readdirSync(dir)).toEqual(["ngb"]); // no leftovers, no ngb.previous
    }
    mode = "ok";
    const noSuch = await ngb("upgrade", "--version", "0.0.9");
    expect(noSuch.code).toBe(1);
    expect(noSuch.stderr).toMatch(/v0\.0\.9\/SHA256SUMS: HTTP 404/);

    const up = await ngb("upgrade");
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`from ${V1} to ${V2}`);
    expect(version(bin)).toStartWith(`ngb ${V2} (`);
    expect(version(`${bin}.previous`)).toStartWith(`ngb ${V1} (`);
    expect(readdirSync(dir).sort()).toEqual(["ngb", "ngb.previous"]);
    expect((await ngb("upgrade")).stdout).toContain(`ngb ${V2} is up to date`);

    const back = await ngb("upgrade", "--rollback");
    expect(back.code).toBe(0);
    expect(back.stdout).toContain(`rolled back ${bin} to ${V1}`);
    expect(version(bin)).toStartWith(`ngb ${V1} (`);
    expect(readFileSync(bin).equals(original)).toBe(true);
    expect(version(`${bin}.previous`)).toStartWith(`ngb ${V2} (`);
  }, 120_000);

  test("from source it refuses: there is no installed binary to replace", async () => {
    const p = await run([process.execPath, join(ROOT, "src/main.ts"), "upgrade", "--release-url", base], {
      cwd: w.dir,
      env: isolatedEnv(w.dir),
    });
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(
      /^error: ngb upgrade replaces the installed binary, but this ngb runs from source/,
    );
  }, 120_000);
});
