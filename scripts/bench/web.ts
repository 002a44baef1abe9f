/**
 * Web benchmark: REST API latency (in-process `app.request`, auth and JSON included) for the
 * group list and message search over a 1,000,000-message store, and the dashboard's first-load
 * size gzipped. The database is generated once into the temp dir (keyed by schema version and
 * size) and reused: one transaction of prepared inserts, the FTS index rebuilt once at the end.
 *
 *   bun scripts/bench/web.ts            # prints the figures
 */
import { existsSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventBus } from "../../src/events/index.ts";
import { LATEST_VERSION, openStore, type Store } from "../../src/store/index.ts";
import { createApp } from "../../src/web/app.ts";
import { webDeps } from "../../test/support/web-deps.ts";

const MESSAGES = Number(process.env.NGB_BENCH_WEB_MESSAGES ?? 1_000_000);
const CHATS = 200;
const GROUPS = 50;
const TOKEN = "bench-token-0123456789abcdef";

const WORDS = (
  "the a to and of in is it you that for on with this be are have not was but at what can so do we " +
  "hello thanks meeting tomorrow dinner weather report deploy server coffee lunch project deadline " +
  "review photo trip weekend music movie book garden pancakes invoice budget schedule reminder " +
  "birthday question answer idea plan update status error database docker container agent"
).split(" ");

/** Deterministic pseudo-random (mulberry32), so every generated database is the same. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(file: string): number {
  const started = performance.now();
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true });
  const store = openStore(tmp);
  const db = store.db;
  const rand = rng(42);
  const chat = (i: number) => (i % 3 === 0 ? `tg:${1000 + i}` : i % 3 === 1 ? `dc:${2000 + i}` : `web:c${i}`);
  for (let g = 0; g < GROUPS; g++)
    store.groups.add({
      jid: chat(g),
      name: `Group ${g}`,
      folder: `group-${g}`,
      triggerPattern: null,
      requiresTrigger: g !== 0,
      isMain: g === 0,
      containerConfig: null,
    });
  // Bulk load: index once at the end instead of row by row through the trigger.
  db.run("DROP TRIGGER messages_ai");
  db.run("PRAGMA synchronous = OFF");
  const insert = db.prepare(
    `INSERT INTO messages (id, chat_jid, sender, sender_name, content, timestamp, is_from_me, stored_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const base = Date.parse("2025-01-01T00:00:00Z");
  const step = Math.floor((365 * 24 * 3600_000) / MESSAGES);
  db.transaction(() => {
    for (let i = 0; i < MESSAGES; i++) {
      const n = 4 + Math.floor(rand() * 14);
      const words: string[] = [];
      for (let w = 0; w < n; w++) words.push(WORDS[Math.floor(rand() ** 2 * WORDS.length)] ?? "x");
      // A rare word: about one message in 10,000.
      if (i % 10_007 === 0) words.push("zanzibar");
      const c = Math.floor(rand() * CHATS);
      const ts = base + i * step;
      insert.run(
        `m${i}`,
        chat(c),
        `u${c % 17}`,
        `User ${c % 17}`,
        words.join(" "),
        ts,
        i % 4 === 0 ? 1 : 0,
        ts,
      );
    }
  })();
  db.run("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')");
  db.run(`CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts (rowid, content, sender_name) VALUES (new.seq, new.content, new.sender_name);
END`);
  db.run(
    `INSERT INTO chats (jid, name, channel, is_group, discovered_at, last_message_at)
     SELECT chat_jid, chat_jid, substr(chat_jid, 1, instr(chat_jid, ':') - 1), 1, min(timestamp), max(timestamp)
     FROM messages GROUP BY chat_jid ON CONFLICT (jid) DO NOTHING`,
  );
  db.run("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')");
  db.run("ANALYZE");
  insert.finalize();
  store.close();
  renameSync(tmp, file);
  for (const ext of ["-wal", "-shm"]) rmSync(`${tmp}${ext}`, { force: true });
  return performance.now() - started;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}
const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;

async function time(
  app: ReturnType<typeof createApp>,
  paths: string[],
  iterations: number,
): Promise<{ p50: number; p95: number; p99: number; hits: number }> {
  const headers = { authorization: `Bearer ${TOKEN}` };
  for (const p of paths) await (await app.request(p, { headers })).arrayBuffer(); // warm
  const samples: number[] = [];
  let hits = 0;
  for (let i = 0; i < iterations; i++) {
    const path = paths[i % paths.length] ?? "/";
    const t = performance.now();
    const r = await app.request(path, { headers });
    const body = (await r.json()) as { hits?: unknown[]; groups?: unknown[] };
    samples.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}`);
    hits += (body.hits ?? body.groups ?? []).length;
  }
  return { p50: pct(samples, 50), p95: pct(samples, 95), p99: pct(samples, 99), hits: hits / iterations };
}

export async function bench(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const file = join(tmpdir(), `ngb-bench-web-v${LATEST_VERSION}-${MESSAGES}.db`);
  if (!existsSync(file)) {
    const took = generate(file);
    out["web: generate messages db"] =
      `${MESSAGES.toLocaleString("en-US")} msgs in ${(took / 1000).toFixed(1)} s`;
  }
  let store: Store | null = null;
  try {
    store = openStore(file);
    const events = createEventBus();
    const app = createApp(
      webDeps({ store, events, token: TOKEN, groupsDir: join(tmpdir(), "ngb-bench-web-groups") }),
    );
    const groups = await time(app, ["/api/groups"], 300);
    out["web: GET /api/groups (50 groups)"] = `p50 ${ms(groups.p50)}, p99 ${ms(groups.p99)}`;
    const common = await time(
      app,
      ["hello", "meeting tomorrow", "docker", "budget review", "pancakes", "weather report today"].map(
        (q) => `/api/messages/search?q=${encodeURIComponent(q)}&limit=50`,
      ),
      300,
    );
    out[`web: search common words, ${MESSAGES.toLocaleString("en-US")} msgs`] =
      `p50 ${ms(common.p50)}, p95 ${ms(common.p95)}, p99 ${ms(common.p99)} (${common.hits.toFixed(0)} hits/page)`;
    // Worst case: the last word is a prefix term, and "the" prefixes the most common word.
    const worst = await time(app, ["/api/messages/search?q=the&limit=50"], 30);
    out["web: search 'the' (prefix of a word in 72% of msgs)"] = `p50 ${ms(worst.p50)}, p95 ${ms(worst.p95)}`;
    const rare = await time(app, ["/api/messages/search?q=zanzibar&limit=50"], 100);
    out["web: search rare word"] = `p50 ${ms(rare.p50)}, p95 ${ms(rare.p95)}, p99 ${ms(rare.p99)}`;
    const filtered = await time(
      app,
      [
        "/api/messages/search?q=pancakes&chat=tg:1000&limit=50",
        "/api/messages/search?q=deploy&from=2025-03-01&to=2025-03-31&limit=50",
        `/api/messages/search?q=${encodeURIComponent('"NEAR( col:x AND *')}&limit=50`,
      ],
      60,
    );
    out["web: search with chat/date filters"] =
      `p50 ${ms(filtered.p50)}, p95 ${ms(filtered.p95)}, p99 ${ms(filtered.p99)}`;
    const page = await time(app, ["/api/chats/tg:1000/messages?limit=50"], 200);
    out["web: message page by chat"] = `p50 ${ms(page.p50)}, p99 ${ms(page.p99)}`;

    // Dashboard first load: HTML + hashed JS + CSS, as the browser receives them (gzip).
    const headers = { authorization: `Bearer ${TOKEN}`, "accept-encoding": "gzip" };
    const html = await (await app.request("/", { headers })).text();
    let bytes = Bun.gzipSync(html).length;
    for (const [, asset] of html.matchAll(/\/assets\/([\w.-]+)/g)) {
      const r = await app.request(`/assets/${asset}`, { headers });
      bytes += (await r.arrayBuffer()).byteLength;
    }
    out["web: dashboard first load"] = `${(bytes / 1024).toFixed(1)} KB gzipped`;
    app.dispose();
  } finally {
    store?.close();
  }
  return out;
}

if (import.meta.main) {
  const r = await bench();
  for (const [k, val] of Object.entries(r)) console.log(`${k.padEnd(52)} ${val}`);
}
