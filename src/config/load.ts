/**
 * Loads the config once: schema defaults < config file < `.env` < environment < flags.
 * Every failure is a `ConfigError` with one line naming the key, the problem and the form.
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import * as v from "valibot";
import { CHANNEL_DEFINITIONS } from "../channels/index.ts";
import { ConfigError } from "./errors.ts";
import { configHome, ENV_ALIASES, type Env, envNameFor, processEnv, readDotenv } from "./env.ts";
import { Config, SECRET_KEYS } from "./schema.ts";

export interface LoadOptions {
  /** Working directory (default `process.cwd()`). Relative dirs in the config resolve against it. */
  cwd?: string;
  /** Explicit config file (`--config`); must exist. */
  configFile?: string;
  /** Environment (default: the process environment). */
  env?: Env;
  /** Highest-precedence overrides, as dotted paths (`{"web.port": 8080}`). */
  flags?: Record<string, unknown>;
  /** Skip reading `.env` (tests). */
  noDotenv?: boolean;
}

export interface LoadedConfig {
  config: Config;
  /** The config file that was read, if any. */
  file?: string;
  /** Where each overridden leaf came from (for `config show`). */
  sources: Record<string, string>;
}

type LeafKind = "string" | "number" | "boolean" | "array" | "picklist";
interface Leaf {
  path: string;
  kind: LeafKind;
  options?: readonly string[];
}

// biome-ignore lint/suspicious/noExplicitAny: walking valibot's schema objects generically
type AnySchema = any;

function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  while (s && (s.type === "optional" || s.type === "nullable" || s.type === "nullish")) s = s.wrapped;
  return s;
}

/** Every leaf of the schema with its kind, for env mapping and coercion. */
export function configLeaves(schema: AnySchema = Config, prefix = ""): Leaf[] {
  const out: Leaf[] = [];
  const s = unwrap(schema);
  for (const [key, child] of Object.entries(s.entries as Record<string, AnySchema>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const c = unwrap(child);
    if (c.type === "object" || c.type === "strict_object") out.push(...configLeaves(c, path));
    else if (c.type === "picklist") out.push({ path, kind: "picklist", options: c.options });
    else if (c.type === "number" || c.type === "boolean" || c.type === "array")
      out.push({ path, kind: c.type });
    else out.push({ path, kind: "string" });
  }
  return out;
}

function coerce(leaf: Leaf, raw: string, source: string): unknown {
  switch (leaf.kind) {
    case "number": {
      const n = Number(raw.replace(/_/g, ""));
      if (raw.trim() === "" || !Number.isFinite(n))
        throw new ConfigError(`${leaf.path}: expected a number, got "${raw}" (from ${source})`);
      return n;
    }
    case "boolean": {
      const b = raw.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(b)) return true;
      if (["0", "false", "no", "off", ""].includes(b)) return false;
      throw new ConfigError(`${leaf.path}: expected true or false, got "${raw}" (from ${source})`);
    }
    case "array":
      return raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let obj = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i]!;
    const next = obj[key];
    if (next === undefined || next === null || typeof next !== "object" || Array.isArray(next)) obj[key] = {};
    obj = obj[key] as Record<string, unknown>;
  }
  obj[parts[parts.length - 1]!] = value;
}

function readJsonFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`config file ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file}: invalid JSON (${(err as Error).message})`);
  }
  if (!data || typeof data !== "object" || Array.isArray(data))
    throw new ConfigError(`config file ${file}: expected a JSON object at the top level`);
  const { $schema: _ignored, ...rest } = data as Record<string, unknown>;
  return rest;
}

/** The config file in effect: explicit, `./ngb.config.json`, or `$XDG_CONFIG_HOME/ngb/config.json`. */
export function findConfigFile(cwd: string, env: Env, explicit?: string): string | undefined {
  if (explicit) {
    const file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new ConfigError(`config file ${file}: not found (given by --config)`);
    return file;
  }
  const local = join(cwd, "ngb.config.json");
  if (existsSync(local)) return local;
  const xdg = join(configHome(env), "ngb", "config.json");
  return existsSync(xdg) ? xdg : undefined;
}

function describeValue(input: unknown): string {
  if (typeof input === "string") return `"${input.length > 60 ? `${input.slice(0, 60)}…` : input}"`;
  if (input === undefined) return "nothing";
  try {
    return JSON.stringify(input)?.slice(0, 60) ?? String(input);
  } catch {
    return String(input);
  }
}

/** Format valibot issues as one line: `web.port: expected … (got "abc" from NGB_WEB_PORT)`. */
function issueLine(
  issue: v.BaseIssue<unknown>,
  sources: Record<string, string>,
  secrets: ReadonlySet<string>,
): string {
  const path = issue.path?.map((p) => String(p.key)).join(".") ?? "(root)";
  const from = sources[path] ? ` from ${sources[path]}` : "";
  if (issue.kind === "validation" || issue.kind === "schema") {
    if (issue.type === "strict_object" && issue.expected === "never") {
      const channel = /^channels\.([^.]+)$/.exec(path)?.[1];
      if (channel)
        return `${path}: this build has no channel named "${channel}"${from} (known: web, ${CHANNEL_DEFINITIONS.map((d) => d.name).join(", ")})`;
      return `${path}: unknown key${from}; check the spelling (see \`ngb config schema\`)`;
    }
  }
  if (secrets.has(path))
    return `${path}: invalid value, expected ${issue.expected ?? "a string"} (value hidden${from})`;
  return `${path}: ${issue.message} (got ${describeValue(issue.input)}${from})`;
}

/**
 * `NGB_CHANNELS_<NAME>_…` for a channel this build does not have would be silently ignored (no
 * config leaf derives that name): refuse it at start, naming it.
 */
function refuseUnknownChannels(vars: Env, label: string): void {
  const known = ["web", ...CHANNEL_DEFINITIONS.map((d) => d.name)];
  const prefixes = known.map((name) => `${envNameFor(`channels.${name}`)}_`);
  for (const [name, value] of Object.entries(vars)) {
    if (!name.startsWith("NGB_CHANNELS_") || value === undefined || value === "") continue;
    if (prefixes.some((p) => name.startsWith(p))) continue;
    const channel = name.slice("NGB_CHANNELS_".length).split("_")[0]!.toLowerCase();
    throw new ConfigError(
      `invalid config: ${name} (from ${label}): this build has no channel named "${channel}" (known: ${known.join(", ")})`,
    );
  }
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? processEnv();
  const sources: Record<string, string> = {};
  const file = findConfigFile(cwd, env, options.configFile);
  const raw: Record<string, unknown> = file ? readJsonFile(file) : {};
  const leaves = configLeaves();

  const dotenv = options.noDotenv ? {} : readDotenv(cwd);
  const layers: Array<[Env, string]> = [
    [dotenv, ".env"],
    [env, "environment"],
  ];
  for (const [vars, label] of layers) {
    refuseUnknownChannels(vars, label);
    for (const [alias, path] of Object.entries(ENV_ALIASES)) {
      const value = vars[alias];
      const leaf = leaves.find((l) => l.path === path);
      if (value !== undefined && value !== "" && leaf) {
        setPath(raw, path, coerce(leaf, value, `${alias} in ${label}`));
        sources[path] = `${alias} (${label})`;
      }
    }
    for (const leaf of leaves) {
      const name = envNameFor(leaf.path);
      const value = vars[name];
      if (value === undefined) continue;
      setPath(raw, leaf.path, coerce(leaf, value, `${name} in ${label}`));
      sources[leaf.path] = `${name} (${label})`;
    }
  }
  for (const [path, value] of Object.entries(options.flags ?? {})) {
    if (value === undefined) continue;
    setPath(raw, path, value);
    sources[path] = "flag";
  }

  const result = v.safeParse(Config, raw);
  if (!result.success) {
    const where = file ? ` (config file ${file})` : "";
    throw new ConfigError(`invalid config${where}: ${issueLine(result.issues[0], sources, SECRET_KEYS)}`);
  }
  const config = result.output;
  validateSemantics(config);
  const base = cwd;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  config.dataDir = abs(config.dataDir);
  config.groupsDir = abs(config.groupsDir);
  config.storeDir = abs(config.storeDir);
  config.plugins.dir = abs(config.plugins.dir);
  if (config.log.file) config.log.file = abs(config.log.file);
  if (!config.container.mountAllowlistPath)
    config.container.mountAllowlistPath = join(configHome(env), "nanogridbot", "mount-allowlist.json");
  return { config, file, sources };
}

/** Checks a schema can't express: regexes compile, time zones exist, a non-loopback bind has a token. */
function validateSemantics(config: Config): void {
  if (config.triggerPattern !== undefined) {
    try {
      new RegExp(config.triggerPattern, "i");
    } catch (err) {
      throw new ConfigError(
        `invalid config: triggerPattern: not a valid regular expression (${(err as Error).message})`,
      );
    }
  }
  if (config.timezone !== undefined && !isValidTimeZone(config.timezone)) {
    throw new ConfigError(
      `invalid config: timezone: unknown time zone "${config.timezone}"; expected an IANA name like Europe/Berlin`,
    );
  }
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The trigger regex in effect for the assistant (default `^@<name>\b`, case-insensitive). */
export function defaultTrigger(config: Config): RegExp {
  if (config.triggerPattern) return new RegExp(config.triggerPattern, "i");
  const name = config.assistantName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^@${name}\\b`, "i");
}
