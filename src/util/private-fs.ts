/**
 * File modes for what ngb keeps private: directories 0700 and files 0600, created that way from
 * the first byte and tightened at start when an older install left them open (only what this
 * user owns is changed). Also the check that a file ngb trusts (config, `.env`, the mount
 * allowlist) cannot be rewritten by other local users.
 */
import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
} from "node:fs";

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

const myUid = () => (typeof process.getuid === "function" ? process.getuid() : -1);

/** `0644`-style text for a mode. */
export function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

/** Make `dir` (and missing parents) and give it mode 0700 if it is ours; returns true when it changed a mode. */
export function ensurePrivateDir(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  return tighten(dir, PRIVATE_DIR_MODE);
}

/** Create `file` empty with mode 0600 when missing (so SQLite and appenders inherit it); tighten an existing one. */
export function ensurePrivateFile(file: string): boolean {
  if (!existsSync(file)) {
    try {
      closeSync(openSync(file, "a", PRIVATE_FILE_MODE));
    } catch {
      return false;
    }
  }
  return tighten(file, PRIVATE_FILE_MODE);
}

/**
 * Remove group/other bits from `path` when this user owns it and it is a real file or directory
 * (never through a symlink). Returns true when the mode changed.
 */
export function tighten(path: string, mode: number): boolean {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink() || (st.uid !== myUid() && myUid() !== -1)) return false;
    if ((st.mode & 0o077) === 0) return false;
    chmodSync(path, (st.mode & 0o700) | (mode & 0o700));
    return true;
  } catch {
    return false;
  }
}

/** Tighten `dir` to 0700 and every file in it to 0600 (one level; e.g. WhatsApp's auth state). */
export function tightenTree(dir: string): number {
  let changed = tighten(dir, PRIVATE_DIR_MODE) ? 1 : 0;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return changed;
  }
  for (const n of names) if (tighten(`${dir}/${n}`, PRIVATE_FILE_MODE)) changed++;
  return changed;
}

/**
 * Why a file ngb trusts is unsafe — writable by group or others, or owned by another user (not
 * root) — or null when it is fine or missing.
 */
export function unsafeToTrust(file: string): string | null {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file);
  } catch {
    return null;
  }
  const uid = myUid();
  if (uid !== -1 && st.uid !== uid && st.uid !== 0)
    return `${file} is owned by uid ${st.uid}, not by this user (uid ${uid}) or root; fix: chown ${uid} ${file}`;
  if (st.mode & 0o022) {
    const who = st.mode & 0o002 ? (st.mode & 0o020 ? "group and others" : "others") : "group";
    return `${file} is writable by ${who} (mode ${modeText(st.mode)}); fix: chmod 600 ${file}`;
  }
  return null;
}
