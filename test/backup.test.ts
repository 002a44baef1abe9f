/**
 * `ngb backup` as a user runs it: a backup taken while `ngb serve` takes webchat messages and a
 * second process writes to the store, restored elsewhere, compared table by table (every table
 * in sqlite_master, row by row), then `ngb serve` on the restored directory. Bad archives and
 * targets are refused with one line and exit code 1.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LATEST_VERSION, openStore } from "../src/store/index.ts";
import { isolatedEnv, runNgb, startServe, tempWorkdir } from "./support/ngb.ts";

const w = tempWorkdir("ngb-backup-");
afterAll(() => w[Symbol.dispose]());
const src = join(w.dir, "src");
const TOKEN = "backup-test-token-0123456789abcdef";
const env = (dir: string) => isolatedEnv(dir, { NGB_WEB_TOKEN: TOKEN });

function oneLineError(r: { code: number; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).toMatch(pattern);
}

/** Every user table of a database, rows in a stable order. */
function dump(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db
      .query<{ name: string }, []>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%fts%' ORDER BY name",
      )
      .all();
    const out: Record<string, unknown[]> = {};
    for (const { name } of tables) out[name] = db.query(`SELECT * FROM "${name}" ORDER BY rowid`).all();
    out.user_version = [db.query("PRAGMA user_version").get()];
    return out;
  } finally {
    db.close();
  }
}

const msg = (i: number) => ({
  id: `bulk-${i}`,
  chatJid: "tg:42",
  sender: "u1",
  senderName: "Writer",
  content: `bulk message ${i}`,
  timestamp: 1_700_000_000_000 + i,
});

describe("ngb backup", () => {
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, "ngb.config.json"),
    JSON.stringify({ assistantName: "Bee", anthropic: { apiKey: "sk-ant-secret-in-config" } }),
  );
  writeFileSync(join(src, ".env"), "NGB_CHANNELS_TELEGRAM_BOT_TOKEN=123:secret-in-dotenv\n");

  test("taken while serve handles messages, restored elsewhere: identical row by row; serve starts there", async () => {
    const ngb = (...args: string[]) => runNgb(args, { cwd: src, env: env(src), timeoutMs: 60_000 });
    expect((await ngb("groups", "add", "tg:42", "--folder", "team")).code).toBe(0);
    const task = await ngb(
      "tasks",
      "add",
      "--group",
      "team",
      "--every",
      "1h",
      "--prompt",
      "status",
      "--json",
    );
    expect(task.code).toBe(0);
    mkdirSync(join(src, "groups/team"), { recursive: true });
    writeFileSync(join(src, "groups/team/CLAUDE.md"), "# team memory\n");
    mkdirSync(join(src, "data/sessions/team/.claude/projects"), { recursive: true });
    writeFileSync(join(src, "data/sessions/team/.claude/projects/s1.jsonl"), '{"type":"user"}\n');

    const serve = await startServe({ cwd: src, env: env(src), timeoutMs: 30_000 });
    const store = openStore(join(src, "store/ngb.db"));
    try {
      store.groups.setSession("team", "session-abc");
      // Messages through the running serve (webchat) and straight into the store from a second
      // connection, both continuing while the backup runs.
      const post = (text: string) =>
        fetch(`${serve.url}/api/webchat/messages`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ chatId: "default", text }),
        });
      for (let i = 0; i < 5; i++) expect((await post(`hello ${i}`)).status).toBeLessThan(300);
      let n = 0;
      for (; n < 100_000; n += 1000)
        store.messages.insertMany(Array.from({ length: 1000 }, (_, j) => msg(n + j)));
      const before = n;
      let writing = true;
      const writer = (async () => {
        while (writing && n < 200_000) {
          store.messages.insertMany(Array.from({ length: 200 }, (_, j) => msg(n + j)));
          n += 200;
          await post(`during ${n}`);
          await Bun.sleep(1);
        }
      })();
      const live = await ngb("backup", "create", join(w.dir, "live.tar.gz"));
      writing = false;
      await writer;
      expect(live.stderr).toBe("");
      expect(live.code).toBe(0);
      expect(live.stdout).toMatch(/^wrote .*live\.tar\.gz: \d+ entries, .* MiB, schema \d+, without secrets/);
      expect(n).toBeGreaterThan(before); // writes really overlapped the backup

      // The live snapshot is consistent: a prefix of what the source holds now.
      expect((await ngb("backup", "verify", join(w.dir, "live.tar.gz"))).code).toBe(0);
      const liveDir = join(w.dir, "restored-live");
      expect((await ngb("backup", "restore", join(w.dir, "live.tar.gz"), "--data-dir", liveDir)).code).toBe(
        0,
      );
      const liveDump = dump(join(liveDir, "store/ngb.db"));
      const sourceNow = dump(join(src, "store/ngb.db"));
      const liveMsgs = liveDump.messages as { seq: number }[];
      expect(liveMsgs.length).toBeGreaterThanOrEqual(before + 5);
      const sourceBySeq = new Map((sourceNow.messages as { seq: number }[]).map((r) => [r.seq, r]));
      for (const row of liveMsgs) expect(sourceBySeq.get(row.seq)).toEqual(row);

      // Quiet now: a second backup equals the source exactly, every table, every row.
      const quiet = await ngb("backup", "create", join(w.dir, "quiet.tar.gz"), "--json");
      expect(quiet.code).toBe(0);
      const { manifest } = JSON.parse(quiet.stdout);
      expect(manifest.schemaVersion).toBe(LATEST_VERSION);
      expect(manifest.entries.map((e: { path: string }) => e.path)).toEqual(
        expect.arrayContaining([
          "store/ngb.db",
          "ngb.config.json",
          "groups/team/CLAUDE.md",
          "data/sessions/team/.claude/projects/s1.jsonl",
        ]),
      );
      expect(manifest.entries.some((e: { path: string }) => e.path === ".env")).toBe(false);
      const dir = join(w.dir, "restored");
      const restored = await ngb("backup", "restore", join(w.dir, "quiet.tar.gz"), "--data-dir", dir);
      expect(restored.code).toBe(0);
      expect(restored.stdout).toContain(`next: cd ${dir} && ngb serve`);
      expect(dump(join(dir, "store/ngb.db"))).toEqual(dump(join(src, "store/ngb.db")));
      expect(readFileSync(join(dir, "groups/team/CLAUDE.md"), "utf8")).toBe("# team memory\n");
      expect(readFileSync(join(dir, "data/sessions/team/.claude/projects/s1.jsonl"), "utf8")).toContain(
        "user",
      );
      // No secrets without --include-secrets: not the .env, not the key inside the config.
      expect(existsSync(join(dir, ".env"))).toBe(false);
      expect(existsSync(join(dir, "data/web-token"))).toBe(false);
      const cfg = JSON.parse(readFileSync(join(dir, "ngb.config.json"), "utf8"));
      expect(cfg).toEqual({ assistantName: "Bee", anthropic: {} });
    } finally {
      store.close();
      await serve.stop();
    }

    // serve starts on the restored directory with every group, message, task and session.
    const dir = join(w.dir, "restored");
    const before = dump(join(dir, "store/ngb.db"));
    const again = await startServe({ cwd: dir, env: env(dir), timeoutMs: 30_000 });
    try {
      const groups = await fetch(`${again.url}/api/groups`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(JSON.stringify(await groups.json())).toContain("tg:42");
      const tasks = await fetch(`${again.url}/api/tasks`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(JSON.stringify(await tasks.json())).toContain("status");
    } finally {
      expect(await again.stop()).toBe(0);
    }
    const after = dump(join(dir, "store/ngb.db"));
    expect((after.messages as unknown[]).length).toBe((before.messages as unknown[]).length);
    expect(after.sessions).toEqual(before.sessions);
    expect(after.scheduled_tasks).toEqual(before.scheduled_tasks);
    expect(after.registered_groups).toEqual(before.registered_groups);
  }, 120_000);

  test("--include-secrets carries .env, the web token and config secrets, restored with mode 0600", async () => {
    const file = join(w.dir, "secrets.tar.gz");
    expect(
      (await runNgb(["backup", "create", file, "--include-secrets"], { cwd: src, env: env(src) })).code,
    ).toBe(0);
    const dir = join(w.dir, "restored-secrets");
    expect(
      (await runNgb(["backup", "restore", file, "--data-dir", dir], { cwd: w.dir, env: env(w.dir) })).code,
    ).toBe(0);
    expect(readFileSync(join(dir, ".env"), "utf8")).toContain("secret-in-dotenv");
    expect(statSync(join(dir, ".env")).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir, "ngb.config.json"), "utf8")).anthropic.apiKey).toBe(
      "sk-ant-secret-in-config",
    );
  });

  test("refused: corrupt, truncated, altered, newer schema, non-empty target, existing output", async () => {
    const good = join(w.dir, "quiet.tar.gz");
    const bytes = readFileSync(good);
    const run = (...args: string[]) => runNgb(args, { cwd: w.dir, env: env(w.dir) });

    const truncated = join(w.dir, "truncated.tar.gz");
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    oneLineError(await run("backup", "verify", truncated), /corrupt|truncated/);
    oneLineError(
      await run("backup", "restore", truncated, "--data-dir", join(w.dir, "t1")),
      /corrupt|truncated/,
    );
    expect(existsSync(join(w.dir, "t1"))).toBe(false);

    const corrupt = join(w.dir, "corrupt.tar.gz");
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(flipped.length * 0.6)]! ^= 0xff;
    writeFileSync(corrupt, flipped);
    oneLineError(await run("backup", "verify", corrupt), /corrupt|truncated|SHA-256/);

    // An archive whose content no longer matches its manifest, and one from a newer schema.
    const files = await new Bun.Archive(bytes).files();
    const entries: Record<string, Blob> = {};
    for (const [k, f] of files) entries[k] = f;
    const altered = join(w.dir, "altered.tar.gz");
    await Bun.Archive.write(
      altered,
      { ...entries, "groups/team/CLAUDE.md": "tampered" },
      { compress: "gzip" },
    );
    oneLineError(await run("backup", "verify", altered), /groups\/team\/CLAUDE\.md .*(SHA-256|bytes)/);
    const manifest = JSON.parse(await files.get("manifest.json")!.text());
    const newer = join(w.dir, "newer.tar.gz");
    await Bun.Archive.write(
      newer,
      { ...entries, "manifest.json": JSON.stringify({ ...manifest, schemaVersion: LATEST_VERSION + 1 }) },
      { compress: "gzip" },
    );
    oneLineError(
      await run("backup", "restore", newer, "--data-dir", join(w.dir, "t2")),
      /schema version \d+ is newer than this ngb supports/,
    );
    expect(existsSync(join(w.dir, "t2"))).toBe(false);

    const full = join(w.dir, "full");
    mkdirSync(full);
    writeFileSync(join(full, "keep.txt"), "mine");
    oneLineError(await run("backup", "restore", good, "--data-dir", full), /is not empty/);
    expect(readFileSync(join(full, "keep.txt"), "utf8")).toBe("mine");

    oneLineError(await runNgb(["backup", "create", good], { cwd: src, env: env(src) }), /already exists/);
    expect(readFileSync(good)).toEqual(bytes);
    oneLineError(await run("backup", "verify", join(w.dir, "nope.tar.gz")), /no such backup file/);
    oneLineError(
      await runNgb(["backup", "create", join(w.dir, "no/such/dir/b.tar.gz")], { cwd: src, env: env(src) }),
      /cannot write into .*no\/such\/dir \(ENOENT\)/,
    );
  });
});
