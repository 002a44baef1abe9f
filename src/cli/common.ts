/**
 * What every CLI command shares: the global options, strict argument checking (unknown flags
 * are errors), loading config + logger once, and one-line error reporting.
 */
import { type ArgsDef, type CommandDef, renderUsage } from "citty";
import type { Config } from "../config/index.ts";
import { createLogger, flushLog, type Logger } from "../log/index.ts";
import { UserError } from "../util/errors.ts";

export class UsageError extends UserError {
  override name = "UsageError";
}

/** Options every command accepts. Spread into a command's `args`. */
export const globalArgs = {
  config: {
    type: "string",
    description: "Config file (default ./ngb.config.json or $XDG_CONFIG_HOME/ngb/config.json)",
  },
  "log-level": { type: "string", description: "silent | error | warn | info | debug | trace" },
  "log-format": { type: "string", description: "pretty | json" },
  verbose: { type: "boolean", description: "Debug logging" },
} as const satisfies ArgsDef;

/** `--json` for commands with machine-readable output. */
export const jsonArg = {
  json: { type: "boolean", description: "Print JSON for scripts" },
} as const satisfies ArgsDef;

// biome-ignore lint/suspicious/noExplicitAny: any command
type AnyCommand = CommandDef<any>;

async function resolve<T>(
  value: T | Promise<T> | (() => T | Promise<T>) | undefined,
): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

/** Reject unknown flags and bad enum values with a clear message (citty ignores them). */
export async function checkArgs(cmd: AnyCommand, raw: string[], label: string): Promise<void> {
  const subs = await resolve(cmd.subCommands);
  const firstPositional = raw.findIndex((a) => !a.startsWith("-"));
  if (subs && Object.keys(subs).length > 0) {
    const name = firstPositional >= 0 ? raw[firstPositional]! : undefined;
    if (name && subs[name]) {
      const sub = (await resolve(subs[name])) as AnyCommand;
      return checkArgs(sub, raw.slice(firstPositional + 1), `${label} ${name}`);
    }
    if (name)
      throw new UsageError(
        `${label}: unknown subcommand "${name}" (one of: ${Object.keys(subs).join(", ")})`,
      );
    if (!cmd.run)
      throw new UsageError(`${label}: missing subcommand (one of: ${Object.keys(subs).join(", ")})`);
  }
  const defs = ((await resolve(cmd.args)) ?? {}) as ArgsDef;
  const known = new Map<string, ArgsDef[string]>();
  for (const [name, def] of Object.entries(defs)) {
    known.set(name, def);
    const aliases = "alias" in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : [];
    for (const a of aliases) known.set(a, def);
  }
  for (let i = 0; i < raw.length; i++) {
    const arg = raw[i]!;
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") continue;
    const name = arg.replace(/^--?/, "").split("=")[0]!;
    const bare = name.startsWith("no-") ? name.slice(3) : name;
    const def = known.get(name) ?? known.get(bare) ?? known.get(camel(name));
    if (!def || def.type === "positional")
      throw new UsageError(`${label}: unknown option "${arg.split("=")[0]}"`);
    if ((def.type === "string" || def.type === "enum") && !arg.includes("=")) {
      const value = raw[i + 1];
      if (value === undefined || value.startsWith("--"))
        throw new UsageError(`${label}: option "--${name}" needs a value`);
      if (def.type === "enum" && def.options && !def.options.includes(value))
        throw new UsageError(`${label}: --${name} must be one of ${def.options.join(", ")} (got "${value}")`);
      i++;
    }
  }
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Print an error as one line (usage first for misuse) and return the exit code. */
export async function printError(err: unknown, cmd: AnyCommand, raw: string[]): Promise<number> {
  const name = err instanceof Error ? err.name : "";
  if (name === "CLIError" || err instanceof UsageError) {
    if (!(err instanceof UsageError)) process.stderr.write(`${await renderUsage(cmd).catch(() => "")}\n`);
    process.stderr.write(`error: ${(err as Error).message.replace(/\x1b\[[0-9;]*m/g, "")}\n`);
    return 1;
  }
  if (err instanceof UserError) {
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  const verbose = raw.includes("--verbose") || raw.includes("--log-level=debug");
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}

export interface GlobalArgValues {
  config?: string;
  "log-level"?: string;
  "log-format"?: string;
  verbose?: boolean;
}

/** Load config (with flag overrides) and a logger, once per command. */
export async function loadContext(
  args: GlobalArgValues,
  flags: Record<string, unknown> = {},
): Promise<{ config: Config; log: Logger; configFile?: string; envFile?: string }> {
  const { loadConfig } = await import("../config/index.ts");
  const overrides: Record<string, unknown> = { ...flags };
  if (args["log-level"]) overrides["log.level"] = args["log-level"];
  if (args.verbose) overrides["log.level"] = "debug";
  if (args["log-format"]) overrides["log.format"] = args["log-format"];
  const { config, file, envFile } = loadConfig({ configFile: args.config, flags: overrides });
  const log = createLogger({
    level: config.log.level,
    format: config.log.format,
    file: config.log.file,
    maxFileBytes: config.log.maxFileBytes,
    maxFiles: config.log.maxFiles,
  });
  // Repeats still being counted are summarized before the process ends, however it ends.
  process.once("exit", () => flushLog(log));
  return { config, log, configFile: file, envFile };
}

/** Print a table of rows (array of objects) for people. */
export function printTable(rows: Record<string, unknown>[], columns?: string[]): void {
  if (rows.length === 0) {
    process.stdout.write("(none)\n");
    return;
  }
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown) => (v === null || v === undefined ? "-" : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => Math.min(cell(r[c]).length, 60))));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (v.length > 60 ? `${v.slice(0, 59)}…` : v).padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${line(cols.map((c) => c.toUpperCase()))}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => cell(r[c])))}\n`);
}
