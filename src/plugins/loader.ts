/**
 * External plugins: find them in the plugins directory (a `.ts`/`.js` file, or a folder with an
 * `index.ts`/`index.js`), bundle each one with `Bun.build` (so a folder's own modules are fresh on
 * every reload, and it works inside the compiled binary), shadow the timer globals with the
 * plugin's own `TimerScope`, import the bundle and check its default export. `ngb/plugin` and
 * `valibot` are provided by the host as virtual modules (see sdk.ts).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { PluginDefinitionError } from "./errors.ts";
import { registerSdkModules, SDK_MODULES } from "./sdk.ts";
import type { TimerScope } from "./timers.ts";
import type { PluginDefinition } from "./types.ts";

export interface PluginSource {
  /** File or folder name in the plugins directory (stable id before the name is known). */
  id: string;
  /** The entry file to bundle. */
  entry: string;
  /** What to watch for changes: the file, or the folder. */
  path: string;
}

const FILE = /^[^._][^/]*\.(ts|js|mjs|mts)$/;
const SKIP = /\.(test|spec|d)\.[mc]?[tj]s$/;
const MAX_PLUGINS = 200;

/** Plugin sources in `dir` (missing dir → none), sorted by id. */
export function discoverPlugins(dir: string): PluginSource[] {
  if (!existsSync(dir)) return [];
  const out: PluginSource[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (out.length >= MAX_PLUGINS) break;
    if (name.startsWith(".") || name.startsWith("_") || name === "node_modules") continue;
    const full = join(dir, name);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(full);
    } catch {
      continue;
    }
    if (st.isFile() && FILE.test(name) && !SKIP.test(name)) {
      out.push({ id: name.replace(/\.[mc]?[tj]s$/, ""), entry: full, path: full });
    } else if (st.isDirectory()) {
      const entry = ["index.ts", "index.js", "index.mjs"]
        .map((f) => join(full, f))
        .find((f) => existsSync(f));
      if (entry) out.push({ id: name, entry, path: full });
    }
  }
  return out;
}

/** Global the bundled prologue reads its timers from, keyed per load. */
const TIMERS_KEY = "__ngbPluginTimers";
type TimerRegistry = Map<string, TimerScope>;
function timerRegistry(): TimerRegistry {
  const g = globalThis as unknown as Record<string, TimerRegistry | undefined>;
  g[TIMERS_KEY] ??= new Map();
  return g[TIMERS_KEY];
}

let loads = 0;

const SHADOWED = ["setTimeout", "setInterval", "clearTimeout", "clearInterval", "queueMicrotask"];

/**
 * Names the bundle binds at its top level (imports, declarations), which the timer prologue
 * must not redeclare: e.g. `import { setTimeout } from "node:timers/promises"` keeps its own.
 */
export function topLevelNames(code: string): Set<string> {
  const names = new Set<string>();
  for (const m of code.matchAll(/^import\s+([^"';]+?)\s+from\s+["'][^"']+["']/gm)) {
    const clause = m[1]!;
    const braces = /\{([^}]*)\}/.exec(clause);
    for (const part of braces?.[1]?.split(",") ?? []) {
      const local = part
        .trim()
        .split(/\s+as\s+/)
        .pop();
      if (local) names.add(local);
    }
    const rest = clause.replace(/\{[^}]*\}/, "").replace(/\*\s+as\s+/, "");
    for (const n of rest.split(",")) if (n.trim()) names.add(n.trim());
  }
  for (const m of code.matchAll(
    /^(?:export\s+)?(?:var|let|const|class|(?:async\s+)?function\*?)\s+([A-Za-z_$][\w$]*)/gm,
  ))
    names.add(m[1]!);
  return names;
}

/**
 * Bundle and import one external plugin. Throws `PluginDefinitionError` (naming the source)
 * when it does not build, does not import, or has no usable default export.
 */
export async function importPlugin(
  src: PluginSource,
  cacheDir: string,
  timers: TimerScope,
): Promise<PluginDefinition> {
  registerSdkModules();
  let code: string;
  try {
    const built = await Bun.build({
      entrypoints: [src.entry],
      target: "bun",
      format: "esm",
      external: [...SDK_MODULES],
      throw: false,
    });
    if (!built.success || !built.outputs[0])
      throw new Error(built.logs.map((l) => String(l.message ?? l)).join("; ") || "build failed");
    code = await built.outputs[0].text();
  } catch (err) {
    throw new PluginDefinitionError(src.id, `does not build: ${firstLine(err)}`);
  }
  const key = `${src.id}#${++loads}`;
  const shadow = SHADOWED.filter((n) => !topLevelNames(code).has(n));
  const prologue = shadow.length
    ? `const {${shadow.join(",")}}=globalThis.${TIMERS_KEY}.get(${JSON.stringify(key)});\n`
    : "";
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, `${basename(src.id).replace(/[^\w.-]/g, "_")}.${process.pid}.${loads}.mjs`);
  writeFileSync(file, prologue + code);
  timerRegistry().set(key, timers);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(file)) as Record<string, unknown>;
  } catch (err) {
    throw new PluginDefinitionError(src.id, `failed to load: ${firstLine(err)}`);
  } finally {
    timerRegistry().delete(key);
    rmSync(file, { force: true });
  }
  return checkDefinition(src.id, mod.default);
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The default export must be a definition: name, version, setup, optional valibot schema. */
export function checkDefinition(id: string, def: unknown): PluginDefinition {
  if (def === undefined)
    throw new PluginDefinitionError(id, "has no default export; use `export default definePlugin({ … })`");
  if (typeof def !== "object" || def === null)
    throw new PluginDefinitionError(id, `default export is a ${typeof def}, not a plugin definition`);
  const d = def as Record<string, unknown>;
  if (typeof d.name !== "string" || !NAME.test(d.name))
    throw new PluginDefinitionError(id, "name must be lowercase letters, digits and dashes (1–63 chars)");
  if (typeof d.version !== "string" || !d.version.trim())
    throw new PluginDefinitionError(d.name, "version must be a non-empty string");
  if (typeof d.setup !== "function") throw new PluginDefinitionError(d.name, "setup must be a function");
  const schema = d.config as { kind?: unknown; "~standard"?: unknown } | undefined;
  if (schema !== undefined && (typeof schema !== "object" || schema === null || schema.kind !== "schema"))
    throw new PluginDefinitionError(d.name, "config must be a valibot schema (e.g. v.object({ … }))");
  return def as PluginDefinition;
}

/** Newest modification time under a plugin source (bounded walk), to notice edits. */
export function sourceStamp(path: string): number {
  let newest = 0;
  let seen = 0;
  const walk = (p: string) => {
    if (seen++ > 500) return;
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    newest = Math.max(newest, st.mtimeMs);
    if (st.isDirectory())
      for (const n of readdirSync(p)) if (n !== "node_modules" && !n.startsWith(".")) walk(join(p, n));
  };
  walk(path);
  return newest;
}

function firstLine(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length)
    return err.errors
      .map((e) => firstLine(e))
      .join("; ")
      .slice(0, 500);
  const msg = err instanceof Error ? err.message : String(err);
  const pos = (err as { position?: { file?: string; line?: number; column?: number } })?.position;
  const at = pos?.file ? ` (${basename(pos.file)}:${pos.line}:${pos.column})` : "";
  return `${msg.split("\n")[0]}${at}`.slice(0, 500);
}
