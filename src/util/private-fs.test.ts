import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ensurePrivateDir,
  ensurePrivateFile,
  modeText,
  tighten,
  tightenTree,
  unsafeToTrust,
} from "./private-fs.ts";

let dir: string;
const mode = (p: string) => statSync(p).mode & 0o777;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-modes-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("private files", () => {
  test("directories are created 0700 and existing open ones tightened", () => {
    const d = join(dir, "a", "b");
    expect(ensurePrivateDir(d)).toBe(false);
    expect(mode(d)).toBe(0o700);
    chmodSync(d, 0o755);
    expect(ensurePrivateDir(d)).toBe(true);
    expect(mode(d)).toBe(0o700);
  });

  test("files are created 0600 from the first byte; open ones tightened, symlinks left alone", () => {
    const f = join(dir, "db");
    ensurePrivateFile(f);
    expect(mode(f)).toBe(0o600);
    chmodSync(f, 0o644);
    expect(ensurePrivateFile(f)).toBe(true);
    expect(mode(f)).toBe(0o600);
    const target = join(dir, "elsewhere");
    writeFileSync(target, "x");
    chmodSync(target, 0o644);
    symlinkSync(target, join(dir, "link"));
    expect(tighten(join(dir, "link"), 0o600)).toBe(false);
    expect(mode(target)).toBe(0o644);
  });

  test("tightenTree fixes a directory and its files", () => {
    const d = join(dir, "auth");
    mkdirSync(d, { mode: 0o755 });
    chmodSync(d, 0o755);
    writeFileSync(join(d, "creds.json"), "{}", { mode: 0o644 });
    writeFileSync(join(d, "pre-key-1.json"), "{}", { mode: 0o666 });
    chmodSync(join(d, "pre-key-1.json"), 0o666);
    expect(tightenTree(d)).toBe(3);
    expect(mode(d)).toBe(0o700);
    expect(mode(join(d, "creds.json"))).toBe(0o600);
    expect(mode(join(d, "pre-key-1.json"))).toBe(0o600);
  });

  test("unsafeToTrust names the file, the mode and the fix", () => {
    const f = join(dir, "ngb.config.json");
    writeFileSync(f, "{}");
    chmodSync(f, 0o644);
    expect(unsafeToTrust(f)).toBeNull();
    chmodSync(f, 0o666);
    expect(unsafeToTrust(f)).toBe(`${f} is writable by group and others (mode 0666); fix: chmod 600 ${f}`);
    chmodSync(f, 0o646);
    expect(unsafeToTrust(f)).toContain("writable by others (mode 0646)");
    chmodSync(f, 0o664);
    expect(unsafeToTrust(f)).toContain("writable by group (mode 0664)");
    expect(unsafeToTrust(join(dir, "missing"))).toBeNull();
    expect(modeText(0o100600)).toBe("0600");
  });
});
