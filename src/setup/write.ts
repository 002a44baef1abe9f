/**
 * Saving what `ngb setup` gathered, all at once at the end: settings merged into the JSON
 * config file, secrets merged into `.env` (mode 0600). Each file is written to a temporary
 * sibling and renamed over the original, so an interruption (Ctrl-C, a crash) leaves either
 * the old file or the new one, never half of one.
 */
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { UserError } from "../util/errors.ts";

/** Writes `text` to `file` atomically with `mode`. */
export function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text, { mode });
    chmodSync(tmp, mode); // umask may have narrowed or (for 0644) not matched
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new UserError(
      `cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? err}); check the folder's permissions`,
    );
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let obj = target;
  for (const key of parts.slice(0, -1)) {
    const next = obj[key];
    if (!next || typeof next !== "object" || Array.isArray(next)) obj[key] = {};
    obj = obj[key] as Record<string, unknown>;
  }
  obj[parts.at(-1)!] = value;
}

/** The config file with `settings` (dotted paths) merged in; other keys are kept as they are. */
export function mergedConfigText(file: string, settings: Record<string, unknown>): string {
  let data: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      const parsed = JSON.parse(readFileSync(file, "utf8")) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
        data = parsed as Record<string, unknown>;
      else throw new Error("not an object");
    } catch (err) {
      throw new UserError(
        `${file} is not a JSON object (${(err as Error).message}); fix or move it, then run ngb setup again`,
      );
    }
  }
  for (const [path, value] of Object.entries(settings)) setPath(data, path, value);
  return `${JSON.stringify(data, null, 2)}\n`;
}

/** `.env` text with `vars` set (undefined removes a variable); other lines and comments kept. */
export function mergedDotenvText(existing: string, vars: Record<string, string | undefined>): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const line of existing.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    const name = m?.[1];
    if (name && Object.hasOwn(vars, name)) {
      if (seen.has(name)) continue;
      seen.add(name);
      const value = vars[name];
      if (value !== undefined) lines.push(`${name}=${quote(value)}`);
      continue;
    }
    lines.push(line);
  }
  while (lines.length > 0 && lines.at(-1) === "") lines.pop();
  for (const [name, value] of Object.entries(vars))
    if (!seen.has(name) && value !== undefined) lines.push(`${name}=${quote(value)}`);
  return `${lines.join("\n")}\n`;
}

function quote(value: string): string {
  if (/[\n\r]/.test(value)) throw new UserError("a secret contains a line break; it cannot be saved in .env");
  return /^[A-Za-z0-9_\-.:/@+=]*$/.test(value) ? value : `'${value}'`;
}

export interface SaveOptions {
  configFile: string;
  settings: Record<string, unknown>;
  dotenvFile: string;
  secrets: Record<string, string | undefined>;
}

/** Computes both files first (so a bad existing file fails before anything is written), then writes. */
export function saveSetup(o: SaveOptions): void {
  const config = mergedConfigText(o.configFile, o.settings);
  const dotenv = mergedDotenvText(
    existsSync(o.dotenvFile) ? readFileSync(o.dotenvFile, "utf8") : "",
    o.secrets,
  );
  writeAtomic(o.dotenvFile, dotenv, 0o600);
  writeAtomic(o.configFile, config, 0o644);
}
