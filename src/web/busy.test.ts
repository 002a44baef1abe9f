import { Database } from "bun:sqlite";
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { webDeps } from "../../test/support/web-deps.ts";
import { createEventBus } from "../events/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { createApp, type WebApp } from "./app.ts";

const TOKEN = "busy-test-token-0123456789abcdef";
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
let dir: string;
let store: Store;
let app: WebApp;
let other: Database;
let now: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-busy-"));
  store = openStore(join(dir, "ngb.db"), { busyTimeoutMs: 20 });
  const events = createEventBus();
  now = 1_000;
  app = createApp(
    webDeps({ store, events, token: TOKEN, groupsDir: join(dir, "groups") }, { now: () => now }),
  );
  // Another process's connection (a backup, `sqlite3`, a CLI command) holding the write lock.
  other = new Database(join(dir, "ngb.db"));
  other.run("BEGIN EXCLUSIVE");
});

afterEach(() => {
  other.close();
  app.dispose();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const register = (folder: string) =>
  app.request("/api/groups", {
    method: "POST",
    headers,
    body: JSON.stringify({ jid: `tg:${folder}`, name: folder, folder }),
  });

test("a write meeting another process's lock is 503 + Retry-After, not a frozen server", async () => {
  const t = performance.now();
  const r = await register("first");
  expect(performance.now() - t).toBeLessThan(1_000);
  expect(r.status).toBe(503);
  expect(r.headers.get("retry-after")).toBe("1");
  expect(await r.json()).toMatchObject({ error: "store_busy" });
  // Reads don't wait for a writer in WAL mode; health never touches the store.
  expect((await app.request("/api/groups", { headers })).status).toBe(200);
  expect((await app.request("/healthz")).status).toBe(200);
});

test("while the store was just busy, writes are refused at once; after the cooldown they go through", async () => {
  expect((await register("first")).status).toBe(503);
  other.run("COMMIT");
  // The lock is gone, but within the cooldown the gate answers without touching the store.
  const refused = await register("second");
  expect(refused.status).toBe(503);
  expect(store.groups.byFolder("second")).toBeNull();
  now += 1_001;
  expect((await register("second")).status).toBe(201);
  expect(store.groups.byFolder("second")?.jid).toBe("tg:second");
  other.run("BEGIN EXCLUSIVE");
});
