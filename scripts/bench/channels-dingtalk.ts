/**
 * DingTalk channel figures:
 * - inbound throughput: the fake DingTalk pushes N robot-message CALLBACK frames over the Stream
 *   WebSocket; measured from the first push until N rows are in a real SQLite store (one insert
 *   per message, each frame acked only after its insert). Fake and adapter share one process
 *   (and its 2 cores), so this is a lower bound.
 * - idle RSS of `ngb serve` (compiled binary) with no platform channel, then with DingTalk
 *   enabled and its Stream connection open to the fake (median of 3 each).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createDingTalkChannel } from "../../src/channels/dingtalk/channel.ts";
import { silentLogger } from "../../src/log/index.ts";
import { openStore } from "../../src/store/index.ts";
import { createFakeDingTalk, type FakeDingTalk } from "../../test/fakes/dingtalk.ts";

const N = 5_000;
const ROOT = join(import.meta.dir, "../..");
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function until(pred: () => boolean, timeoutMs: number, what: string) {
  const deadline = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await Bun.sleep(2);
  }
}

async function inbound(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-dt-"));
  const store = openStore(join(dir, "ngb.db"));
  const fake = createFakeDingTalk({ redeliverAfterMs: 0 });
  const channel = createDingTalkChannel({
    config: { apiBaseUrl: fake.url, clientId: fake.clientId, clientSecret: fake.clientSecret },
    assistantName: "Andy",
    log: silentLogger(),
  });
  try {
    await channel.connect({
      inbound: async (m) => store.messages.insert(m, Date.now(), "dingtalk") !== null,
      discovered: (c) => store.messages.discoverChat(c, Date.now(), "dingtalk"),
      status: () => {},
    });
    for (let i = 0; i < 50; i++) fake.pushRobotMessage({ chat: "user", text: `warm ${i}` });
    await until(() => fake.pendingCount === 0, 10_000, "warm-up");
    const base = store.messages.count();
    const start = performance.now();
    for (let i = 0; i < N; i++)
      fake.pushRobotMessage({
        chat: i % 2 ? "user" : "group",
        senderStaffId: `staff${i % 20}`,
        text: `message ${i} with some text`,
      });
    await until(() => store.messages.count() === base + N, 60_000, "all stored");
    const secs = (performance.now() - start) / 1000;
    await until(() => fake.pendingCount === 0, 10_000, "all acked");
    return `${fmt(N / secs)} msg/s (${fmt(N)} in ${secs.toFixed(2)} s)`;
  } finally {
    await channel.disconnect();
    await fake.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** A fresh binary in `dir` (dist/ may predate DingTalk); else run from source. */
function serveArgv(dir: string): { argv: string[]; kind: string } {
  const out = join(dir, "ngb");
  const p = Bun.spawnSync(
    [process.execPath, join(ROOT, "scripts/build.ts"), "--outfile", relative(ROOT, out)],
    {
      cwd: ROOT,
      stdout: "ignore",
      stderr: "ignore",
    },
  );
  if (p.exitCode === 0 && existsSync(out)) return { argv: [out], kind: "compiled binary" };
  return { argv: [process.execPath, join(ROOT, "src/main.ts")], kind: "bun src/main.ts (build failed)" };
}

async function idleRss(argv: string[], withDingTalk: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-dt-rss-"));
  const fake: FakeDingTalk = createFakeDingTalk();
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, ".xdg"),
    NGB_LOG_LEVEL: "warn",
    NGB_DATA_DIR: join(dir, "data"),
    NGB_STORE_DIR: join(dir, "store"),
    NGB_GROUPS_DIR: join(dir, "groups"),
    NGB_WEB_PORT: String(probe.port),
    ...(withDingTalk
      ? {
          NGB_CHANNELS_DINGTALK_ENABLED: "true",
          NGB_CHANNELS_DINGTALK_API_BASE_URL: fake.url,
          NGB_CHANNELS_DINGTALK_CLIENT_ID: fake.clientId,
          NGB_CHANNELS_DINGTALK_CLIENT_SECRET: fake.clientSecret,
        }
      : {}),
  };
  probe.stop(true);
  const proc = Bun.spawn([...argv, "serve"], { cwd: dir, env, stdout: "ignore", stderr: "ignore" });
  try {
    const deadline = performance.now() + 20_000;
    const ready = async () => {
      if (withDingTalk && fake.openSockets === 0) return false;
      try {
        return (await fetch(`http://127.0.0.1:${env.NGB_WEB_PORT}/readyz`)).ok;
      } catch {
        return false;
      }
    };
    while (!(await ready())) {
      if (performance.now() > deadline || proc.exitCode !== null) throw new Error("serve did not come up");
      await Bun.sleep(20);
    }
    await Bun.sleep(2000); // let start-up garbage settle
    return rssMb(proc.pid);
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function serveRss(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-dt-bin-"));
  try {
    const { argv, kind } = serveArgv(dir);
    const none: number[] = [];
    const dt: number[] = [];
    for (let i = 0; i < 3; i++) {
      none.push(await idleRss(argv, false));
      dt.push(await idleRss(argv, true));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const a = median(none);
    const b = median(dt);
    return {
      [`serve idle RSS, no platform channel (${kind})`]: `${a.toFixed(1)} MB`,
      "serve idle RSS, dingtalk connected": `${b.toFixed(1)} MB (+${(b - a).toFixed(1)} MB)`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<Record<string, string>> {
  return { "dingtalk inbound (fake stream → store, acked)": await inbound(), ...(await serveRss()) };
}

if (import.meta.main) console.log(await bench());
