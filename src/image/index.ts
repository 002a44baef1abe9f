/**
 * Builds the agent image (`ngb-agent`) from `container/`:
 *   1. the runner's dependencies installed from its package-lock.json (the SDK with its native
 *      executable; `bun install`, same pinned versions as `npm ci`);
 *   2. (offline) a base image imported from local files: the Bun binary, the shared libraries
 *      `ldd` lists for it, for the SDK's `claude` executable and for bash, busybox-static for
 *      the usual commands, /etc/passwd and /etc/group, /tmp 1777 — no registry needed;
 *   3. the runner bundle (`bun build`, so the shared protocol module travels inside it);
 *   4. `docker build` (legacy builder) with BASE_IMAGE set.
 * Each step is skipped when its output is already up to date: a content hash is kept as an
 * image label (base, agent) or a stamp file (node_modules), so repeated runs take ~1 s.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { UserError } from "../util/errors.ts";
import { materializeContext } from "./context.ts";

export { checkoutDir, embeddedFiles, materializeContext, seedGroupMemory } from "./context.ts";

export const DEFAULT_AGENT_IMAGE = "ngb-agent:latest";
export const OFFLINE_BASE_IMAGE = "ngb-base:local";
/** The offline base when its Bun is a compiled ngb itself (no Bun binary on this machine). */
export const OFFLINE_SELF_BASE_IMAGE = "ngb-base:local-self";
export const DEFAULT_BASE_IMAGE = "oven/bun:1-slim";
const HASH_LABEL = "ngb.content-hash";
/** Bump when the base layout below changes, so old bases are rebuilt. */
const BASE_LAYOUT_VERSION = "1";

export class ImageBuildError extends UserError {
  override name = "ImageBuildError";
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; `input` is piped to stdin; `inherit` streams its output to stderr. */
export type RunFn = (
  cmd: string[],
  opts?: {
    cwd?: string;
    input?: ReadableStream<Uint8Array> | Uint8Array;
    inherit?: boolean;
    env?: Record<string, string>;
    /** Called with each output line (stdout and stderr) as it arrives: progress. */
    onLine?: (line: string) => void;
  },
) => Promise<RunResult>;

/** Reads a stream to the end, handing each complete line to `onLine` as it arrives. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine?: (line: string) => void,
): Promise<string> {
  if (!onLine) return new Response(stream).text();
  const decoder = new TextDecoder();
  let all = "";
  let pending = "";
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    const text = decoder.decode(r.value, { stream: true });
    all += text;
    pending += text;
    const lines = pending.split(/\r?\n|\r/);
    pending = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onLine(line);
  }
  if (pending.trim()) onLine(pending);
  return all;
}

export const defaultRun: RunFn = async (cmd, opts = {}) => {
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    stdin: opts.input ?? "ignore",
    stdout: opts.inherit ? "inherit" : "pipe",
    stderr: opts.inherit ? "inherit" : "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    opts.inherit ? "" : readLines(proc.stdout as ReadableStream<Uint8Array>, opts.onLine),
    opts.inherit ? "" : readLines(proc.stderr as ReadableStream<Uint8Array>, opts.onLine),
    proc.exited,
  ]);
  return { code, stdout, stderr };
};

export interface ImageBuildOptions {
  /** Container CLI (docker or podman). */
  runtime?: string;
  /** Tag of the agent image. */
  image?: string;
  /** Base image for the Dockerfile; ignored with `offline`. */
  base?: string;
  /** Import the base from local files (no registry). */
  offline?: boolean;
  /** The `container/` folder (default: found beside the sources). */
  contextDir?: string;
  /** Rebuild every step even when up to date. */
  force?: boolean;
  /** Bun binary to put in the offline base (default: the repo's node_modules/bun or this runtime). */
  bunBinary?: string;
  /** Where a compiled ngb writes its embedded build context (`<dataDir>/agent-context`). */
  dataDir?: string;
  /** Each output line of the long steps (dependency install, `docker build`): progress. */
  onProgress?: (line: string) => void;
  run?: RunFn;
  log?: (line: string) => void;
}

export interface StepTiming {
  step: string;
  ms: number;
  skipped: boolean;
}

export interface ImageBuildResult {
  image: string;
  base: string;
  hash: string;
  steps: StepTiming[];
  totalMs: number;
}

/**
 * The build context: `explicit`; else, in a compiled ngb, the embedded one written out under
 * `<dataDir>/agent-context`; else the checkout's `container/` beside the sources or in the cwd.
 */
export function findContainerDir(explicit?: string, dataDir?: string): string {
  if (!explicit && dataDir) {
    const embedded = materializeContext(dataDir);
    if (embedded) return embedded;
  }
  const candidates = explicit
    ? [explicit]
    : [resolve(import.meta.dir, "../../container"), resolve("container")];
  for (const dir of candidates) {
    if (existsSync(join(dir, "Dockerfile")) && existsSync(join(dir, "agent-runner", "package.json")))
      return dir;
  }
  throw new ImageBuildError(
    `no container/ folder with a Dockerfile and agent-runner/ found (looked in ${candidates.join(", ")}); use a released ngb binary (it carries its own), run from a NanoGridBot checkout, or pass --context <dir>`,
  );
}

const sha = (...parts: (string | Uint8Array)[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex").slice(0, 32);
};

async function must(
  run: RunFn,
  cmd: string[],
  what: string,
  opts?: Parameters<RunFn>[1],
): Promise<RunResult> {
  let res: RunResult;
  try {
    res = await run(cmd, opts);
  } catch (err) {
    throw new ImageBuildError(`${what}: could not run ${cmd[0]}: ${(err as Error).message}`);
  }
  if (res.code !== 0) {
    const detail = (res.stderr || res.stdout)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !/DEPRECATED|BuildKit|DOCKER_BUILDKIT|environment-variable/.test(l))
      .slice(-5)
      .join(" | ");
    throw new ImageBuildError(
      `${what} failed (${cmd.slice(0, 3).join(" ")} … exit ${res.code})${detail ? `: ${detail}` : ""}`,
    );
  }
  return res;
}

/** Label value of an image, or undefined when the image does not exist. */
export async function imageLabel(
  run: RunFn,
  runtime: string,
  image: string,
  label = HASH_LABEL,
): Promise<string | undefined> {
  const res = await run([
    runtime,
    "image",
    "inspect",
    "--format",
    `{{ index .Config.Labels "${label}" }}`,
    image,
  ]);
  if (res.code !== 0) return undefined;
  const value = res.stdout.trim();
  return value && value !== "<no value>" ? value : "";
}

async function imageId(run: RunFn, runtime: string, image: string): Promise<string | undefined> {
  const res = await run([runtime, "image", "inspect", "--format", "{{.Id}}", image]);
  return res.code === 0 ? res.stdout.trim() : undefined;
}

// ---- step 1: offline base ----

/** Shared libraries (and the loader) an ELF binary needs, from `ldd`. */
export function parseLdd(output: string): string[] {
  const libs = new Set<string>();
  for (const line of output.split("\n")) {
    const arrow = line.match(/=>\s+(\/\S+)/);
    if (arrow?.[1]) libs.add(arrow[1]);
    else {
      const direct = line.trim().match(/^(\/\S+)\s+\(/);
      if (direct?.[1]) libs.add(direct[1]);
    }
  }
  return [...libs];
}

function findBun(contextDir: string, explicit?: string): string {
  const repo = resolve(contextDir, "..");
  const candidates = [
    explicit,
    join(repo, "node_modules/bun/bin/bun.exe"),
    join(repo, `node_modules/@oven/bun-linux-${process.arch === "arm64" ? "aarch64" : "x64"}/bin/bun`),
    join(repo, `node_modules/@oven/bun-linux-${process.arch}/bin/bun`),
    process.execPath.endsWith("/bun") || process.execPath.endsWith("/bun.exe") ? process.execPath : undefined,
    Bun.which("bun") ?? undefined,
    // A compiled ngb is Bun itself: with BUN_BE_BUN=1 (set in the base) it acts as bun.
    process.execPath,
  ];
  for (const c of candidates) if (c && existsSync(c)) return realpathSync(c);
  throw new ImageBuildError(
    "no Bun binary found for the offline base (install the npm package bun, or pass --bun <path>)",
  );
}

async function buildOfflineBase(
  run: RunFn,
  runtime: string,
  contextDir: string,
  opts: ImageBuildOptions,
  log: (line: string) => void,
): Promise<{ skipped: boolean; hash: string; tag: string }> {
  if (process.platform !== "linux") {
    throw new ImageBuildError(
      "--offline builds the base from this machine's Linux binaries; on other systems use --base <image>",
    );
  }
  const bun = findBun(contextDir, opts.bunBinary);
  // A compiled ngb standing in for bun gets its own tag, so it never replaces the usual base.
  const selfAsBun = !/\/bun(\.exe)?$/.test(bun);
  const tag = selfAsBun ? OFFLINE_SELF_BASE_IMAGE : OFFLINE_BASE_IMAGE;
  const claude = join(
    contextDir,
    "agent-runner/node_modules/@anthropic-ai",
    `claude-agent-sdk-linux-${process.arch}`,
    "claude",
  );
  const bash = Bun.which("bash") ?? "/bin/bash";
  const busybox = Bun.which("busybox") ?? "/bin/busybox";
  if (!existsSync(busybox)) throw new ImageBuildError("busybox is missing (apt-get install busybox-static)");
  if (!existsSync(claude)) log(`warning: ${claude} is missing; its libraries may be missing from the base`);
  const elves = [bun, bash, ...(existsSync(claude) ? [claude] : [])];
  const libs = new Set<string>();
  for (const bin of elves) {
    const res = await run(["ldd", bin]);
    for (const lib of parseLdd(res.stdout)) libs.add(lib);
  }
  // By content (≈100 MB, ~0.2 s), so a reinstall that only touches mtimes does not rebuild.
  const hasher = createHash("sha256").update(BASE_LAYOUT_VERSION);
  // Keyed by the path inside the image, so checkouts in different folders agree on the hash.
  const entries: [string, string][] = [
    ["/usr/local/bin/bun", bun],
    ["/bin/bash", bash],
    ["/bin/busybox", busybox],
    ...[...libs].sort().map((l): [string, string] => [l, l]),
  ];
  for (const [dest, src] of entries) hasher.update(`\n${dest}\n`).update(readFileSync(src));
  const hash = hasher.digest("hex").slice(0, 32);
  if (!opts.force && (await imageLabel(run, runtime, tag)) === hash) {
    log(`base ${tag} up to date`);
    return { skipped: true, hash, tag };
  }

  const root = mkdtempSync(join(tmpdir(), "ngb-base-"));
  try {
    const put = (src: string, dest: string, mode?: number) => {
      const target = join(root, dest);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(realpathSync(src), target);
      if (mode !== undefined) chmodSync(target, mode);
    };
    put(bun, "/usr/local/bin/bun", 0o755);
    put(bash, "/bin/bash", 0o755);
    put(busybox, "/bin/busybox", 0o755);
    for (const lib of libs) put(lib, lib, 0o755);
    const applets = (await must(run, [busybox, "--list"], "busybox --list")).stdout
      .split("\n")
      .filter(Boolean);
    for (const applet of applets) {
      if (applet === "bash" || applet === "busybox" || applet.includes("/")) continue;
      const link = join(root, "bin", applet);
      if (!existsSync(link)) symlinkSync("busybox", link);
    }
    const etc = join(root, "etc");
    mkdirSync(etc, { recursive: true });
    writeFileSync(
      join(etc, "passwd"),
      "root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000:agent:/home/agent:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    );
    writeFileSync(join(etc, "group"), "root:x:0:\nagent:x:1000:\nnogroup:x:65534:\n");
    writeFileSync(join(etc, "nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
    if (existsSync("/etc/ssl/certs/ca-certificates.crt"))
      put("/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt", 0o644);
    for (const dir of ["tmp", "root", "home/agent", "usr/bin", "var/tmp"])
      mkdirSync(join(root, dir), { recursive: true });
    chmodSync(join(root, "tmp"), 0o1777);
    chmodSync(join(root, "var/tmp"), 0o1777);
    symlinkSync("/usr/local/bin/bun", join(root, "usr/bin/bun"));
    symlinkSync("/usr/local/bin/bun", join(root, "usr/local/bin/bunx"));

    const tar = Bun.spawn(["tar", "--numeric-owner", "--owner=0", "--group=0", "-C", root, "-c", "."], {
      stdout: "pipe",
      stderr: "pipe",
    });
    await must(
      run,
      [
        runtime,
        "import",
        "-c",
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        ...(selfAsBun ? ["-c", "ENV BUN_BE_BUN=1"] : []),
        "-c",
        "WORKDIR /",
        "-c",
        `LABEL ${HASH_LABEL}=${hash}`,
        "-",
        tag,
      ],
      `${runtime} import of the base`,
      { input: tar.stdout as ReadableStream<Uint8Array> },
    );
    if ((await tar.exited) !== 0) throw new ImageBuildError("tar of the base folder failed");
    log(`base ${tag} imported (${libs.size} libraries, ${applets.length} busybox applets)`);
    return { skipped: false, hash, tag };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

// ---- step 2: runner dependencies and bundle ----

/** Maps a container engine arch (amd64, arm64) to npm's cpu names. */
export function npmCpu(engineArch: string): string {
  if (engineArch === "amd64" || engineArch === "x86_64") return "x64";
  if (engineArch === "aarch64") return "arm64";
  return engineArch;
}

async function installRunnerDeps(
  run: RunFn,
  runnerDir: string,
  cpu: string,
  force: boolean,
  log: (line: string) => void,
  onProgress?: (line: string) => void,
): Promise<boolean> {
  const lock = readFileSync(join(runnerDir, "package-lock.json"));
  const want = sha(lock, `linux-${cpu}`);
  const stamp = join(runnerDir, "node_modules", ".ngb-lock-hash");
  const sdk = join(runnerDir, "node_modules/@anthropic-ai/claude-agent-sdk/package.json");
  if (!force && existsSync(sdk) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === want) {
    log("agent-runner node_modules up to date");
    return true;
  }
  // Bun installs exactly the versions pinned in package-lock.json (it reads npm's lockfile) and
  // is ~10x faster than `npm ci` here. BUN_BE_BUN lets a compiled ngb act as bun.
  const args = [process.execPath, "install", "--production", "--frozen-lockfile", "--no-save"];
  if (cpu !== process.arch || process.platform !== "linux") args.push("--os=linux", `--cpu=${cpu}`);
  log(`installing agent-runner dependencies (bun ${args.slice(1).join(" ")})`);
  await must(run, args, "installing container/agent-runner dependencies", {
    cwd: runnerDir,
    env: { BUN_BE_BUN: "1" },
    onLine: onProgress,
  });
  writeFileSync(stamp, `${want}\n`);
  return false;
}

/** Bundles the runner (with the shared protocol module) into dist/agent-runner.js. */
export async function bundleRunner(runnerDir: string): Promise<string> {
  const out = await Bun.build({
    entrypoints: [join(runnerDir, "src/main.ts")],
    target: "bun",
    external: ["@anthropic-ai/claude-agent-sdk", "zod"],
    naming: "agent-runner.js",
    outdir: join(runnerDir, "dist"),
  });
  if (!out.success) {
    throw new ImageBuildError(
      `bundling the agent runner failed: ${out.logs.map((l) => String(l)).join("; ")}`,
    );
  }
  return join(runnerDir, "dist", "agent-runner.js");
}

// ---- step 3: the image ----

async function agentHash(run: RunFn, runtime: string, contextDir: string, base: string): Promise<string> {
  const runnerDir = join(contextDir, "agent-runner");
  const baseId = (await imageId(run, runtime, base)) ?? base;
  return sha(
    readFileSync(join(contextDir, "Dockerfile")),
    readFileSync(join(runnerDir, "package-lock.json")),
    readFileSync(join(runnerDir, "dist", "agent-runner.js")),
    baseId,
  );
}

export async function buildAgentImage(opts: ImageBuildOptions = {}): Promise<ImageBuildResult> {
  const run = opts.run ?? defaultRun;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const runtime = opts.runtime ?? "docker";
  const image = opts.image ?? DEFAULT_AGENT_IMAGE;
  const contextDir = findContainerDir(opts.contextDir, opts.dataDir);
  const runnerDir = join(contextDir, "agent-runner");
  const steps: StepTiming[] = [];
  const t0 = performance.now();
  const timed = async <T>(step: string, fn: () => Promise<{ skipped: boolean; value: T }>): Promise<T> => {
    const s = performance.now();
    const { skipped, value } = await fn();
    steps.push({ step, ms: Math.round(performance.now() - s), skipped });
    return value;
  };

  const version = await run([runtime, "version", "--format", "{{.Server.Arch}}"]).catch((err: Error) => ({
    code: 127,
    stdout: "",
    stderr: err.message,
  }));
  if (version.code !== 0) {
    throw new ImageBuildError(
      `the container engine does not answer (${runtime} version: ${(version.stderr || version.stdout).trim().split("\n").at(-1) ?? "no output"})`,
    );
  }
  const cpu = npmCpu(version.stdout.trim() || process.arch);

  let base = opts.offline ? OFFLINE_BASE_IMAGE : (opts.base ?? DEFAULT_BASE_IMAGE);
  // Dependencies first: the offline base needs the libraries of the SDK's `claude` binary.
  await timed("deps", async () => ({
    skipped: await installRunnerDeps(run, runnerDir, cpu, opts.force ?? false, log, opts.onProgress),
    value: undefined,
  }));
  if (opts.offline) {
    await timed("base", async () => {
      const r = await buildOfflineBase(run, runtime, contextDir, opts, log);
      base = r.tag;
      return { skipped: r.skipped, value: r.hash };
    });
  }
  // An embedded context carries the runner already bundled (and no sources).
  const prebundled = !existsSync(join(runnerDir, "src/main.ts"));
  if (prebundled && !existsSync(join(runnerDir, "dist/agent-runner.js")))
    throw new ImageBuildError(`${runnerDir} has neither src/main.ts nor dist/agent-runner.js`);
  await timed("bundle", async () => ({
    skipped: prebundled,
    value: prebundled ? undefined : await bundleRunner(runnerDir),
  }));

  const hash = await agentHash(run, runtime, contextDir, base);
  await timed("image", async () => {
    if (!opts.force && (await imageLabel(run, runtime, image)) === hash) {
      log(`image ${image} up to date`);
      return { skipped: true, value: undefined };
    }
    log(`building ${image} from ${base}`);
    try {
      await must(
        run,
        [
          runtime,
          "build",
          "--build-arg",
          `BASE_IMAGE=${base}`,
          "--label",
          `${HASH_LABEL}=${hash}`,
          "-t",
          image,
          contextDir,
        ],
        `${runtime} build`,
        { env: { DOCKER_BUILDKIT: "0" }, onLine: opts.onProgress },
      );
    } catch (err) {
      const msg = (err as Error).message;
      if (!opts.offline && /pull|manifest|registry|dial tcp|lookup|i\/o timeout|TLS handshake/i.test(msg)) {
        throw new ImageBuildError(
          `${msg} — no registry reachable? \`ngb image build --offline\` builds without one`,
        );
      }
      throw err;
    }
    // The image this tag pointed at before is now dangling (~0.5 GB): remove ours only.
    await run([runtime, "image", "prune", "-f", "--filter", `label=${HASH_LABEL}`]).catch(() => undefined);
    return { skipped: false, value: undefined };
  });
  return { image, base, hash, steps, totalMs: Math.round(performance.now() - t0) };
}

export interface ImageStatus {
  image: string;
  exists: boolean;
  id?: string;
  created?: string;
  sizeMb?: number;
  hash?: string;
  /** Whether the image matches the current sources (undefined when it cannot be told). */
  upToDate?: boolean;
}

export async function agentImageStatus(
  opts: {
    runtime?: string;
    image?: string;
    contextDir?: string;
    dataDir?: string;
    base?: string;
    run?: RunFn;
  } = {},
): Promise<ImageStatus> {
  const run = opts.run ?? defaultRun;
  const runtime = opts.runtime ?? "docker";
  const image = opts.image ?? DEFAULT_AGENT_IMAGE;
  const res = await run([
    runtime,
    "image",
    "inspect",
    "--format",
    `{{.Id}}|{{.Created}}|{{.Size}}|{{ index .Config.Labels "${HASH_LABEL}" }}`,
    image,
  ]);
  if (res.code !== 0) return { image, exists: false };
  const [id, created, size, hash] = res.stdout.trim().split("|");
  const status: ImageStatus = {
    image,
    exists: true,
    id: id?.replace("sha256:", "").slice(0, 12),
    created,
    sizeMb: Math.round(Number(size) / 1e6),
    hash: hash && hash !== "<no value>" ? hash : undefined,
  };
  try {
    const contextDir = findContainerDir(opts.contextDir, opts.dataDir);
    if (existsSync(join(contextDir, "agent-runner/dist/agent-runner.js")) && status.hash) {
      const bases = opts.base
        ? [opts.base]
        : [OFFLINE_BASE_IMAGE, OFFLINE_SELF_BASE_IMAGE, DEFAULT_BASE_IMAGE];
      const hashes = await Promise.all(bases.map((b) => agentHash(run, runtime, contextDir, b)));
      status.upToDate = hashes.includes(status.hash);
    }
  } catch {
    // No sources here (e.g. an installed binary): freshness cannot be told.
  }
  return status;
}
