/**
 * A group's folder on disk: `groups/<folder>/` with `logs/` and a default memory file. The folder
 * is writable by the group's agent, so nothing here follows a link an agent could have planted:
 * an existing folder must be a real directory, and the memory file is created with
 * O_CREAT|O_EXCL|O_NOFOLLOW (an existing file or symlink is left alone, never written through).
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";

export class GroupFolderError extends Error {
  override name = "GroupFolderError";
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`group folder ${path}: ${reason}`);
  }
}

export function memoryTemplate(name: string): string {
  return `# ${name}\n\nMemory for this group. The agent reads and updates this file.\n`;
}

/** Make `dir` a real directory (created if missing); a symlink or file there is refused. */
function realDir(dir: string): void {
  try {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) throw new GroupFolderError(dir, "is a symbolic link; refusing to follow it");
    if (!st.isDirectory()) throw new GroupFolderError(dir, "exists and is not a directory");
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dir, { mode: 0o755 });
}

/** Create the folder, its `logs/` and `CLAUDE.md` (kept when present). Returns the folder path. */
export function ensureGroupDir(groupsDir: string, folder: string, name: string): string {
  mkdirSync(groupsDir, { recursive: true });
  const dir = join(groupsDir, folder);
  realDir(dir);
  realDir(join(dir, "logs"));
  let fd: number;
  try {
    fd = openSync(
      join(dir, "CLAUDE.md"),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return dir;
    throw err;
  }
  try {
    writeSync(fd, memoryTemplate(name));
  } finally {
    closeSync(fd);
  }
  return dir;
}
