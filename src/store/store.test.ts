import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InboundMessage } from "../orchestrator/channel.ts";
import { ftsQuery, LATEST_VERSION, openStore, type Store, StoreError, schemaVersion } from "./index.ts";
import { MIGRATIONS } from "./migrations.ts";

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn();
});
function tempStore(): { store: Store; dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "ngb-store-"));
  const file = join(dir, "ngb.db");
  const store = openStore(file);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanup.push(() => store.close());
  return { store, dir, file };
}
const msg = (id: string, content: string, extra: Partial<InboundMessage> = {}): InboundMessage => ({
  id,
  chatJid: "tg:1",
  sender: "u1",
  senderName: "Alice",
  content,
  timestamp: 1_700_000_000_000 + Number(id.replace(/\D/g, "") || 0),
  ...extra,
});

describe("store", () => {
  test("opens with WAL, foreign keys and the latest schema", () => {
    const { store } = tempStore();
    expect(store.db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe(
      "wal",
    );
    expect(store.db.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()?.foreign_keys).toBe(1);
    expect(schemaVersion(store.db)).toBe(LATEST_VERSION);
  });

  test("messages get increasing seqs; duplicate ids are ignored, not errors", () => {
    const { store } = tempStore();
    const a = store.messages.insert(msg("1", "hello"));
    const b = store.messages.insert(msg("2", "world"));
    expect(a).toBeNumber();
    expect(b!).toBeGreaterThan(a!);
    expect(store.messages.insert(msg("1", "hello again"))).toBeNull();
    expect(store.messages.count()).toBe(2);
    expect(store.messages.since("tg:1", a!).map((m) => m.content)).toEqual(["world"]);
    // the same id in another chat is a different message
    expect(store.messages.insert(msg("1", "other chat", { chatJid: "tg:2" }))).toBeNumber();
    expect(store.messages.insertMany([msg("3", "x"), msg("3", "x"), msg("2", "dup")])).toBe(1);
  });

  test("chats are recorded from messages and discovery", () => {
    const { store } = tempStore();
    store.messages.discoverChat({ jid: "dc:42", name: "general", isGroup: true }, Date.now(), "discord");
    store.messages.insert(msg("1", "hi"), Date.now(), "telegram");
    const chats = store.messages.chats();
    expect(chats.map((c) => c.jid).sort()).toEqual(["dc:42", "tg:1"]);
    expect(store.messages.chat("dc:42")).toMatchObject({
      channel: "discord",
      name: "general",
      isGroup: true,
    });
    expect(store.messages.chat("tg:1")?.channel).toBe("telegram");
  });

  test("full-text search stays in sync and treats FTS syntax as text", () => {
    const { store } = tempStore();
    store.messages.insert(msg("1", "the quick brown fox"));
    store.messages.insert(msg("2", "lazy dogs sleep", { chatJid: "tg:2" }));
    store.messages.insert(msg("3", 'weird "quotes" AND NEAR( stuff*'));
    expect(store.messages.search("quick").map((m) => m.id)).toEqual(["1"]);
    expect(store.messages.search("qui").map((m) => m.id)).toEqual(["1"]); // prefix
    expect(store.messages.search("dogs", { chatJid: "tg:1" })).toEqual([]);
    for (const hostile of [
      '"',
      "AND",
      "NEAR(",
      "*",
      "content:fox",
      "a OR",
      "(((",
      "'; DROP TABLE messages; --",
    ]) {
      expect(() => store.messages.search(hostile)).not.toThrow();
    }
    expect(store.messages.search('"quotes" AND').map((m) => m.id)).toEqual(["3"]);
    expect(ftsQuery("   ")).toBeNull();
    store.db.run("UPDATE messages SET content = 'changed text' WHERE id = '1'");
    expect(store.messages.search("quick")).toEqual([]);
    expect(store.messages.search("changed").map((m) => m.id)).toEqual(["1"]);
    store.db.run("DELETE FROM messages WHERE id = '1'");
    expect(store.messages.search("changed")).toEqual([]);
  });

  test("search with chat and date filters returns exactly the messages inside them", () => {
    const { store } = tempStore();
    // Timestamps deliberately out of seq order (platforms deliver late messages).
    const rows: [string, string, number][] = [
      ["1", "tg:1", 5000],
      ["2", "tg:2", 1000],
      ["3", "tg:1", 3000],
      ["4", "tg:2", 4000],
      ["5", "tg:1", 2000],
    ];
    for (const [id, chatJid, timestamp] of rows)
      store.messages.insert(msg(id, "deploy report", { chatJid, timestamp }));
    const ids = (o: Parameters<Store["messages"]["search"]>[1]) =>
      store.messages.search("deploy", o).map((m) => m.id);
    expect(ids({ from: 2000, to: 4000 })).toEqual(["5", "4", "3"]);
    expect(ids({ chatJid: "tg:1", from: 2500 })).toEqual(["3", "1"]);
    expect(ids({ chatJid: "tg:2", to: 1000 })).toEqual(["2"]);
    expect(ids({ from: 6000 })).toEqual([]);
    expect(ids({ chatJid: "tg:none" })).toEqual([]);
  });

  test("groups: one main, unique folder, cursors never rewind, sessions", () => {
    const { store } = tempStore();
    const base = {
      name: "G",
      triggerPattern: null,
      requiresTrigger: true,
      isMain: false,
      containerConfig: null,
    };
    store.groups.add({ ...base, jid: "web:default", folder: "main", isMain: true });
    store.groups.add({ ...base, jid: "tg:1", folder: "family" });
    expect(() => store.groups.add({ ...base, jid: "tg:2", folder: "family" })).toThrow(/folder "family"/);
    expect(() => store.groups.add({ ...base, jid: "tg:1", folder: "x" })).toThrow(/jid "tg:1"/);
    expect(() => store.groups.add({ ...base, jid: "tg:3", folder: "y", isMain: true })).toThrow(/main group/);
    expect(store.groups.main()?.jid).toBe("web:default");
    store.groups.setCursor("tg:1", 10);
    store.groups.setCursor("tg:1", 5);
    expect(store.groups.cursor("tg:1")).toBe(10);
    store.groups.setSession("family", "s-1");
    expect(store.groups.session("family")).toBe("s-1");
    store.groups.clearSession("family");
    expect(store.groups.session("family")).toBeNull();
    expect(store.groups.update("tg:1", { requiresTrigger: false })?.requiresTrigger).toBe(false);
    expect(store.groups.remove("tg:1")).toBe(true);
    expect(store.groups.get("tg:1")).toBeNull();
  });

  test("outbound claims are idempotent", () => {
    const { store } = tempStore();
    const first = store.outbound.claim("main:5:0", "web:default", "hi");
    expect(first.status).toBe("pending");
    store.outbound.markSent(first.id);
    const again = store.outbound.claim("main:5:0", "web:default", "hi");
    expect(again.id).toBe(first.id);
    expect(again.status).toBe("sent");
    store.outbound.addUsage("main", { inputTokens: 10, outputTokens: 5 }, Date.UTC(2026, 0, 1));
    store.outbound.addUsage("main", { inputTokens: 1, outputTokens: 1 }, Date.UTC(2026, 0, 1));
    expect(store.outbound.usage()).toEqual([
      {
        groupFolder: "main",
        day: "2026-01-01",
        requests: 2,
        inputTokens: 11,
        outputTokens: 6,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
      },
    ]);
  });

  test("data survives reopening", () => {
    const { store, file } = tempStore();
    store.messages.insert(msg("1", "persisted"));
    store.close();
    cleanup.pop();
    const again = openStore(file);
    cleanup.push(() => again.close());
    expect(again.messages.search("persisted")).toHaveLength(1);
  });

  test("a database from a newer ngb is refused and left untouched", () => {
    const { store, file } = tempStore();
    store.db.run(`PRAGMA user_version = ${LATEST_VERSION + 1}`);
    store.close();
    cleanup.pop();
    const before = readFileSync(file);
    expect(() => openStore(file)).toThrow(/newer than this ngb supports/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  test("an older database upgrades in place", () => {
    const dir = mkdtempSync(join(tmpdir(), "ngb-store-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "old.db");
    const raw = new Database(file);
    raw.run("CREATE TABLE keepme (x INTEGER)");
    raw.run("INSERT INTO keepme VALUES (7)");
    raw.close();
    const store = openStore(file);
    cleanup.push(() => store.close());
    expect(schemaVersion(store.db)).toBe(LATEST_VERSION);
    expect(store.db.query<{ x: number }, []>("SELECT x FROM keepme").get()?.x).toBe(7);
  });

  test("messages stored under the first schema are still found after every migration", () => {
    const dir = mkdtempSync(join(tmpdir(), "ngb-store-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "v1.db");
    const raw = new Database(file);
    raw.run(MIGRATIONS[0]!.sql);
    raw.run("PRAGMA user_version = 1");
    raw.run(
      `INSERT INTO messages (id, chat_jid, sender, sender_name, content, timestamp, stored_at)
       VALUES ('old-1', 'tg:1', 'u', 'Ann', 'theremin practice tonight', 1, 1)`,
    );
    raw.close();
    const store = openStore(file);
    cleanup.push(() => store.close());
    expect(schemaVersion(store.db)).toBe(LATEST_VERSION);
    expect(store.messages.search("theremin").map((m) => m.id)).toEqual(["old-1"]);
    expect(store.messages.search("the").map((m) => m.id)).toEqual(["old-1"]); // prefix
    store.messages.insert(msg("9", "theory class"));
    expect(store.messages.search("the").map((m) => m.id)).toEqual(["9", "old-1"]);
  });

  test("a corrupt file is refused with a clear error and not overwritten", () => {
    const dir = mkdtempSync(join(tmpdir(), "ngb-store-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "bad.db");
    const junk = Buffer.from("this is definitely not a sqlite database, just some text padding ".repeat(100));
    writeFileSync(file, junk);
    expect(() => openStore(file)).toThrow(StoreError);
    expect(() => openStore(file)).toThrow(/corrupt or not an ngb database/);
    expect(readFileSync(file).equals(junk)).toBe(true);
  });

  test("a locked database is reported as locked", () => {
    const { file } = tempStore();
    const holder = new Database(file);
    holder.run("PRAGMA user_version = 0"); // force the next open to migrate (needs the write lock)
    holder.run("BEGIN EXCLUSIVE");
    try {
      expect(() => openStore(file, { busyTimeoutMs: 50 })).toThrow(/locked by another process/);
    } finally {
      holder.run("ROLLBACK");
      holder.close();
    }
  });

  test("a store directory that cannot be created or written is reported", () => {
    const dir = mkdtempSync(join(tmpdir(), "ngb-store-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    // A regular file where the directory should be: fails for root too (permissions would not).
    writeFileSync(join(dir, "blocker"), "");
    expect(() => openStore(join(dir, "blocker", "x.db"))).toThrow(/store directory .* is not writable/);
  });
});
