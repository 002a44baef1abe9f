/**
 * The size of a directory tree in bytes, counted without following symlinks and bounded in the
 * number of entries looked at (a folder with millions of files costs a bounded walk, then
 * counts as "at least" what was seen).
 */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

export function dirSize(root: string, maxEntries = 200_000): { bytes: number; complete: boolean } {
  let bytes = 0;
  let seen = 0;
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (++seen > maxEntries) return { bytes, complete: false };
      const p = join(dir, name);
      try {
        const st = lstatSync(p);
        if (st.isDirectory()) stack.push(p);
        else bytes += st.size;
      } catch {
        // vanished meanwhile
      }
    }
  }
  return { bytes, complete: true };
}
