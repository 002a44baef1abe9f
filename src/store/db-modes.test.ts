/** The store at rest: database, WAL and shared-memory files 0600 in a 0700 directory. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "./db.ts";

let dir: string;
const mode = (p: string) => statSync(p).mode & 0o777;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-store-modes-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("a new store is 0600 files in a 0700 directory, WAL and shm included", () => {
  const file = join(dir, "store", "ngb.db");
  const db = openDatabase(file);
  db.run("CREATE TABLE t (x)");
  db.run("INSERT INTO t VALUES (1)");
  expect(existsSync(`${file}-wal`)).toBe(true);
  expect(mode(join(dir, "store"))).toBe(0o700);
  for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f)).toBe(0o600);
  db.close();
});

test("an older world-readable store is tightened on open", () => {
  const store = join(dir, "store");
  const file = join(store, "ngb.db");
  openDatabase(file).close();
  const db0 = openDatabase(file);
  db0.run("CREATE TABLE t (x)");
  // Leave the WAL behind as an older install (umask 022) would have.
  chmodSync(file, 0o644);
  if (existsSync(`${file}-wal`)) chmodSync(`${file}-wal`, 0o644);
  chmodSync(store, 0o755);
  const db = openDatabase(file);
  expect(mode(store)).toBe(0o700);
  expect(mode(file)).toBe(0o600);
  if (existsSync(`${file}-wal`)) expect(mode(`${file}-wal`)).toBe(0o600);
  db.close();
  db0.close();
});

test("a read-only open changes nothing", () => {
  const store = join(dir, "ro");
  mkdirSync(store);
  chmodSync(store, 0o755);
  const file = join(store, "ngb.db");
  openDatabase(file).close();
  chmodSync(store, 0o755);
  openDatabase(file, { readonly: true }).close();
  expect(mode(store)).toBe(0o755);
});
