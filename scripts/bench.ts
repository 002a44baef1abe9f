/**
 * `bun run bench`: speed and memory figures, printed with units (never asserted in tests).
 * Core figures are measured here; each feature adds a module under scripts/bench/ exporting
 * `bench(): Promise<Record<string, string>>`. `bun run bench core web` runs only those sections.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { openStore } from "../src/store/index.ts";

const ROOT = join(import.meta.dir, "..");
const BIN = join(ROOT, "dist/ngb");

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
export const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** Newest modification time of the sources the binary is built from. */
function newestSource(dir = join(ROOT, "src")): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** dist/ngb, built when missing or older than src/ (a stale binary would measure old code). */
export async function ensureBinary(): Promise<void> {
  if (existsSync(BIN) && statSync(BIN).mtimeMs >= newestSource()) return;
  const p = Bun.spawnSync([process.execPath, join(ROOT, "scripts/build.ts")], {
    stdout: "inherit",
    stderr: "inherit",
  });
  if (p.exitCode !== 0) throw new Error("build failed");
}

/** RSS and its anonymous part (heap) in MB; the rest is clean pages mapped from the executable. */
function rssMb(pid: number): { rss: number; anon: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(rollup)?.[1] ?? Number.NaN);
  return { rss: kb("Rss") / 1024, anon: kb("Anonymous") / 1024 };
}

async function waitReady(url: string, deadline: number): Promise<void> {
  while (performance.now() < deadline) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(2);
  }
  throw new Error(`${url} not ready in time`);
}

/**
 * Start the compiled binary on a fixed free port; returns time to /readyz and idle RSS.
 * `connected` (if given) must hold before memory is read: a channel's fake saw it connect.
 */
export async function serveFigures(
  env: Record<string, string> = {},
  connected?: () => boolean,
): Promise<{ readyMs: number; rssMb: number; anonMb: number }> {
  await ensureBinary();
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-"));
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  const started = performance.now();
  const proc = Bun.spawn([BIN, "serve", "--port", String(port)], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, ".xdg"),
      NGB_LOG_LEVEL: "warn",
      ...env,
    },
    stdout: "ignore",
    stderr: "ignore",
  });
  try {
    await waitReady(`http://127.0.0.1:${port}/readyz`, started + 15_000);
    const readyMs = performance.now() - started;
    const deadline = performance.now() + 20_000;
    while (connected && !connected()) {
      if (performance.now() > deadline || proc.exitCode !== null)
        throw new Error("serve did not connect its channel");
      await Bun.sleep(20);
    }
    await Bun.sleep(1500); // let start-up garbage settle before reading RSS
    const mem = rssMb(proc.pid);
    return { readyMs, rssMb: mem.rss, anonMb: mem.anon };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

async function core(): Promise<Record<string, string>> {
  await ensureBinary();
  const out: Record<string, string> = {};
  const runs: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    Bun.spawnSync([BIN, "--help"], { stdout: "ignore", stderr: "ignore" });
    runs.push(performance.now() - t);
  }
  out["ngb --help wall time (median of 15)"] = ms(percentile(runs, 50));
  const readies: number[] = [];
  let rss = 0;
  let anon = 0;
  for (let i = 0; i < 3; i++) {
    const f = await serveFigures();
    readies.push(f.readyMs);
    rss = Math.max(rss, f.rssMb);
    anon = Math.max(anon, f.anonMb);
  }
  out["serve start → /readyz (median of 3)"] = ms(percentile(readies, 50));
  out["serve idle RSS (no channels)"] =
    `${rss.toFixed(1)} MB (${anon.toFixed(1)} MB anonymous, rest clean pages of the executable)`;

  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-store-"));
  try {
    const store = openStore(join(dir, "bench.db"));
    const N = 100_000;
    const batch = 1000;
    let t = performance.now();
    for (let i = 0; i < N; i += batch) {
      const msgs = [];
      for (let j = i; j < i + batch; j++)
        msgs.push({
          id: `m${j}`,
          chatJid: `tg:${j % 50}`,
          sender: `u${j % 7}`,
          senderName: "Bench User",
          content: `message number ${j} with some ordinary words in it`,
          timestamp: 1_700_000_000_000 + j,
        });
      store.messages.insertMany(msgs);
    }
    out["store insert, batched (1,000/tx, WAL file)"] = `${fmt(N / ((performance.now() - t) / 1000))} msg/s`;
    const single = 5_000;
    t = performance.now();
    for (let j = 0; j < single; j++)
      store.messages.insert({
        id: `s${j}`,
        chatJid: "tg:single",
        sender: "u",
        senderName: "Bench User",
        content: `single insert ${j}`,
        timestamp: 1_700_000_000_000 + j,
      });
    out["store insert, single (1 msg/tx, WAL file)"] =
      `${fmt(single / ((performance.now() - t) / 1000))} msg/s`;
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function main() {
  const only = process.argv.slice(2);
  const sections: [string, () => Promise<Record<string, string>>][] = [["core", core]];
  const dir = join(import.meta.dir, "bench");
  if (existsSync(dir)) {
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith(".ts") || file.endsWith(".test.ts")) continue;
      const name = file.replace(/\.ts$/, "");
      sections.push([name, async () => (await import(join(dir, file))).bench()]);
    }
  }
  console.log(
    `ngb bench — ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, bun ${Bun.version}`,
  );
  for (const [name, fn] of sections) {
    if (only.length && !only.includes(name)) continue;
    console.log(`\n## ${name}`);
    try {
      const figures = await fn();
      const width = Math.max(...Object.keys(figures).map((k) => k.length));
      for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(width)}  ${v}`);
    } catch (err) {
      console.log(`  failed: ${(err as Error).message}`);
    }
  }
}

if (import.meta.main) await main();
