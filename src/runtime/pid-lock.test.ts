import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquirePidLock, holderIsLive, startTimeOf } from "./pid-lock.ts";

let dir: string;
const procs: { kill(): void }[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-pid-"));
});
afterEach(() => {
  for (const p of procs.splice(0)) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

const hasProc = existsSync(`/proc/${process.pid}/stat`);

/** A process that stays alive 30 s, with `argv` in its command line. */
function spawnIdle(...argv: string[]) {
  const p = Bun.spawn(["bash", "-c", "sleep 30; true", ...argv], { stdout: "ignore", stderr: "ignore" });
  procs.push(p);
  return p.pid;
}

describe("pid lock", () => {
  test("the file is 0600, holds pid and start time, and is removed on release", () => {
    const release = acquirePidLock(dir);
    const file = join(dir, "ngb.pid");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const [pid, started] = readFileSync(file, "utf8").trim().split(" ");
    expect(Number(pid)).toBe(process.pid);
    if (hasProc) expect(started).toBe(startTimeOf(process.pid)!);
    release();
    expect(existsSync(file)).toBe(false);
  });

  test.if(hasProc)("a live but unrelated process in the pid file does not block start-up", () => {
    const pid = spawnIdle();
    writeFileSync(join(dir, "ngb.pid"), `${pid}\n`); // old format, no start time: `sleep` is not ngb
    expect(holderIsLive(`${pid}\n`)).toBe(false);
    const release = acquirePidLock(dir);
    release();
  });

  test.if(hasProc)("a recycled pid (start time differs) does not block; the same process does", () => {
    const pid = spawnIdle("serve");
    const started = startTimeOf(pid)!;
    expect(holderIsLive(`${pid} ${Number(started) + 1}`)).toBe(false);
    writeFileSync(join(dir, "ngb.pid"), `${pid} ${started}\n`);
    expect(() => acquirePidLock(dir)).toThrow(`another ngb serve (pid ${pid})`);
  });

  test.if(hasProc)("an old-format file of a live ngb-looking process still blocks", () => {
    const pid = spawnIdle("serve");
    writeFileSync(join(dir, "ngb.pid"), `${pid}\n`);
    expect(() => acquirePidLock(dir)).toThrow("already using");
  });

  test("a dead pid is taken over", () => {
    writeFileSync(join(dir, "ngb.pid"), "999999999\n");
    acquirePidLock(dir)();
  });
});
