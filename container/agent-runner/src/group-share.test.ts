import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shareWithGroup } from "./group-share.ts";

let dir: string;
let outside: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-share-"));
  outside = mkdtempSync(join(tmpdir(), "ngb-share-out-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const mode = (p: string) => statSync(p).mode & 0o777;

describe("shareWithGroup", () => {
  test("private files and dirs become group read/write; symlinks are not followed", () => {
    mkdirSync(join(dir, "sessions"), { mode: 0o700 });
    writeFileSync(join(dir, "sessions", "a.json"), "{}", { mode: 0o600 });
    writeFileSync(join(dir, ".claude.json"), "{}", { mode: 0o600 });
    writeFileSync(join(outside, "secret"), "x", { mode: 0o600 });
    chmodSync(join(outside, "secret"), 0o600);
    symlinkSync(join(outside, "secret"), join(dir, "link"));
    symlinkSync(outside, join(dir, "linkdir"));
    expect(shareWithGroup(dir)).toBeGreaterThanOrEqual(3);
    expect(mode(join(dir, "sessions"))).toBe(0o770);
    expect(mode(join(dir, "sessions", "a.json"))).toBe(0o660);
    expect(mode(join(dir, ".claude.json"))).toBe(0o660);
    expect(mode(join(outside, "secret"))).toBe(0o600);
    expect(shareWithGroup(dir)).toBe(0); // nothing left to change
  });

  test.skipIf(process.getuid?.() !== 0)(
    "it descends through a dir it does not own (the host's mount point)",
    () => {
      writeFileSync(join(dir, ".claude.json"), "{}", { mode: 0o600 });
      chmodSync(dir, 0o755);
      chownSync(dir, 4321, 4321);
      shareWithGroup(dir);
      expect(mode(dir)).toBe(0o755); // not ours: left alone
      expect(mode(join(dir, ".claude.json"))).toBe(0o660);
    },
  );

  test("the walk is bounded", () => {
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, `f${i}`), "", { mode: 0o600 });
    shareWithGroup(dir, 5);
    const shared = Array.from({ length: 20 }, (_, i) => mode(join(dir, `f${i}`))).filter((m) => m === 0o660);
    expect(shared.length).toBe(4); // the dir itself counts as one entry
  });
});
