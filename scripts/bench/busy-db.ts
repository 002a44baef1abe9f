/**
 * A busy database must not freeze the HTTP server. The compiled binary serves on a free port;
 * a second process holds `BEGIN EXCLUSIVE` on its store for LOCK_S seconds while a client keeps
 * posting webchat messages (each one a store write) and another probes `/healthz` every 50 ms.
 * Figures: the longest `/healthz` answer during the lock (the event loop's worst stall), and what
 * the writers got (stored after the lock, or refused with 503 + Retry-After).
 *
 *   bun scripts/bench/busy-db.ts        # or: bun run bench busy-db
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const BIN = join(ROOT, "dist/ngb");
const LOCK_S = Number(process.env.NGB_BENCH_LOCK_S ?? 10);
const TOKEN = "bench-busy-token-0123456789abcdef";

async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port ?? 0;
  probe.stop(true);
  return port;
}

async function timed(url: string, init?: RequestInit): Promise<{ ms: number; status: number }> {
  const t = performance.now();
  try {
    const r = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    await r.arrayBuffer();
    return { ms: performance.now() - t, status: r.status };
  } catch {
    return { ms: performance.now() - t, status: 0 };
  }
}

export async function bench(): Promise<Record<string, string>> {
  if (!existsSync(BIN)) {
    const p = Bun.spawnSync([process.execPath, join(ROOT, "scripts/build.ts")], { stdout: "inherit" });
    if (p.exitCode !== 0) throw new Error("build failed");
  }
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-busy-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const serve = Bun.spawn([BIN, "serve", "--port", String(port)], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", HOME: dir, NGB_LOG_LEVEL: "error", NGB_WEB_TOKEN: TOKEN },
    stdout: "ignore",
    stderr: "ignore",
  });
  let locker: { kill(): void; exited: Promise<number> } | null = null;
  try {
    const deadline = performance.now() + 20_000;
    while ((await timed(`${base}/readyz`)).status !== 200) {
      if (performance.now() > deadline) throw new Error("serve did not become ready");
      await Bun.sleep(20);
    }
    // The second process: the store locked for LOCK_S seconds.
    const lock = Bun.spawn(
      [
        process.execPath,
        "-e",
        `const { Database } = require("bun:sqlite");
         const db = new Database(${JSON.stringify(join(dir, "store", "ngb.db"))});
         db.run("PRAGMA busy_timeout = 10000");
         db.run("BEGIN EXCLUSIVE");
         console.log("locked");
         Bun.sleepSync(${LOCK_S * 1000});
         db.run("COMMIT");`,
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    locker = lock;
    const reader = lock.stdout.getReader();
    await reader.read();
    reader.releaseLock();
    const lockedAt = performance.now();
    const until = lockedAt + LOCK_S * 1000;
    const health: number[] = [];
    const writes: { ms: number; status: number }[] = [];
    const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    let n = 0;
    const writer = (async () => {
      const pending: Promise<void>[] = [];
      while (performance.now() < until) {
        pending.push(
          timed(`${base}/api/webchat/messages`, {
            method: "POST",
            headers: auth,
            body: JSON.stringify({ chatId: "bench", text: `during the lock ${n++}` }),
          }).then((w) => void writes.push(w)),
        );
        await Bun.sleep(20);
      }
      await Promise.all(pending);
    })();
    const prober = (async () => {
      while (performance.now() < until) {
        health.push((await timed(`${base}/healthz`)).ms);
        await Bun.sleep(50);
      }
    })();
    await Promise.all([writer, prober]);
    await lock.exited;
    const ok = writes.filter((w) => w.status === 201).length;
    const refused = writes.filter((w) => w.status === 503).length;
    const other = writes.length - ok - refused;
    const stored = await fetch(`${base}/api/webchat/messages?chatId=bench&after=0`, { headers: auth })
      .then((r) => r.json() as Promise<{ messages: unknown[] }>)
      .then((b) => b.messages.length);
    const sorted = [...health].sort((a, b) => a - b);
    return {
      [`busy db: max /healthz latency during a ${LOCK_S} s exclusive lock`]: `${(sorted.at(-1) ?? 0).toFixed(0)} ms (p50 ${(sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(1)} ms, ${health.length} probes)`,
      "busy db: webchat posts during the lock": `${writes.length} posted: ${ok} stored (201), ${refused} refused (503 + Retry-After), ${other} other; ${stored} in the store after`,
      "busy db: slowest post during the lock": `${Math.max(0, ...writes.map((w) => w.ms)).toFixed(0)} ms`,
    };
  } finally {
    locker?.kill();
    serve.kill("SIGTERM");
    await serve.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  for (const [k, v] of Object.entries(await bench())) console.log(`  ${k}  ${v}`);
}
