/**
 * Where the agent image's build context and the default memory files come from: inside a
 * compiled `ngb` they are embedded (written out to `<dataDir>/agent-context/` when needed, so
 * the binary works from any directory and builds the image that matches its own host code);
 * run from the sources they are the checkout's `container/` and `groups/`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { EMBEDDED, type EmbeddedFiles } from "./embedded.ts";

/** The embedded files, or null when running from the sources. Tests may pass their own. */
export function embeddedFiles(): EmbeddedFiles | null {
  return EMBEDDED;
}

/** Writes `files` under `dir`, touching only files whose content differs. */
function writeTree(dir: string, files: Record<string, string>, onlyMissing = false): string[] {
  const written: string[] = [];
  for (const [rel, text] of Object.entries(files)) {
    const target = join(dir, rel);
    if (existsSync(target) && (onlyMissing || readFileSync(target, "utf8") === text)) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
    written.push(rel);
  }
  return written;
}

/** The embedded build context written out under `<dataDir>/agent-context` (node_modules kept). */
export function materializeContext(dataDir: string, files: EmbeddedFiles | null = EMBEDDED): string | null {
  if (!files) return null;
  const dir = join(dataDir, "agent-context");
  writeTree(dir, files.context);
  return dir;
}

/** The checkout's folder beside these sources (`container`, `groups`), if there is one. */
export function checkoutDir(name: string): string | undefined {
  const dir = resolve(import.meta.dir, "../..", name);
  return existsSync(dir) && !dir.startsWith("/$bunfs") ? dir : undefined;
}

/**
 * Writes the default memory files (`global/CLAUDE.md`, `main/CLAUDE.md`) into `groupsDir`
 * where they are missing; a file a user has edited is never touched. Returns what it wrote.
 */
export function seedGroupMemory(groupsDir: string, files: EmbeddedFiles | null = EMBEDDED): string[] {
  let memory = files?.memory;
  if (!memory) {
    const source = checkoutDir("groups");
    if (!source || resolve(source) === resolve(groupsDir)) return [];
    memory = {};
    for (const rel of ["global/CLAUDE.md", "main/CLAUDE.md"]) {
      const file = join(source, rel);
      if (existsSync(file)) memory[rel] = readFileSync(file, "utf8");
    }
  }
  return writeTree(groupsDir, memory, true);
}
