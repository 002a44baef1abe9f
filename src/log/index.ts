/**
 * Logging: consola to stderr, pretty for people or one JSON object a line for machines, plus an
 * optional log file with size-based rotation. `createLogger()` is called once in a command;
 * modules get a tagged child (`log.withTag("scheduler")`) passed in.
 */
import { appendFileSync, existsSync, mkdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, tighten } from "../util/private-fs.ts";
// consola/core, not "consola": the full entry pulls in node:util, tty detection and locale-aware
// time formatting, which cost ~12 MB of idle RSS in the compiled binary. Our reporters are small.
import { type ConsolaInstance, type ConsolaReporter, createConsola, type LogObject } from "consola/core";
import { type CollapseOptions, collapseRepeats } from "./collapse.ts";

export { type CollapseOptions, type CollapsingReporter, collapseRepeats } from "./collapse.ts";

export type Logger = ConsolaInstance;

export interface LoggerOptions {
  level?: "silent" | "error" | "warn" | "info" | "debug" | "trace";
  format?: "pretty" | "json";
  file?: string;
  maxFileBytes?: number;
  maxFiles?: number;
  /** Repeated warnings/errors collapsed into a summary per window (see collapse.ts). */
  collapse?: CollapseOptions;
  /** Where lines go (default: stderr, in `format`, plus `file`). Tests pass their own. */
  reporters?: ConsolaReporter[];
}

const LEVELS = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 } as const;

function serialize(arg: unknown): unknown {
  if (arg instanceof Error) return { name: arg.name, message: arg.message };
  return arg;
}

/** One JSON line: {time, level, tag, msg, ...details}. */
export function jsonLine(obj: LogObject): string {
  const [first, ...rest] = obj.args;
  const record: Record<string, unknown> = {
    time: obj.date.toISOString(),
    level: obj.type,
    tag: obj.tag || undefined,
    msg: typeof first === "string" ? first : undefined,
  };
  const extra = typeof first === "string" ? rest : obj.args;
  for (const arg of extra) {
    const s = serialize(arg);
    if (s && typeof s === "object" && !Array.isArray(s)) Object.assign(record, s);
    else if (s !== undefined) record.detail = s;
  }
  return JSON.stringify(record);
}

/** Appends JSON lines to a file, rotating `file` → `file.1` … `file.N` at `maxBytes`. */
export function fileReporter(file: string, maxBytes: number, maxFiles: number): ConsolaReporter {
  // A directory we create is ours alone; the file (and its rotations) are 0600.
  mkdirSync(dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  for (let i = 0; i <= maxFiles; i++) tighten(i === 0 ? file : `${file}.${i}`, PRIVATE_FILE_MODE);
  let size = existsSync(file) ? statSync(file).size : 0;
  const rotate = () => {
    const last = `${file}.${maxFiles}`;
    if (existsSync(last)) unlinkSync(last);
    for (let i = maxFiles - 1; i >= 1; i--) {
      if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    }
    if (existsSync(file)) renameSync(file, `${file}.1`);
    size = 0;
  };
  return {
    log(obj) {
      const line = `${jsonLine(obj)}\n`;
      if (size + line.length > maxBytes && size > 0) rotate();
      appendFileSync(file, line, { mode: PRIVATE_FILE_MODE });
      size += line.length;
    },
  };
}

const jsonStderr: ConsolaReporter = {
  log(obj) {
    process.stderr.write(`${jsonLine(obj)}\n`);
  },
};

const LABELS: Record<string, string> = {
  fatal: "FATAL",
  error: "ERROR",
  warn: "WARN ",
  info: "info ",
  success: "ok   ",
  ready: "ready",
  start: "start",
  box: "info ",
  debug: "debug",
  trace: "trace",
  verbose: "trace",
  log: "info ",
  fail: "FAIL ",
};

function detailText(arg: unknown): string {
  const s = serialize(arg);
  if (typeof s === "string") return s;
  try {
    return JSON.stringify(s) ?? String(s);
  } catch {
    return String(s);
  }
}

/** One line for people: `12:00:01Z info  [tag] message {"detail":1}` (UTC, no locale data loaded). */
export function prettyLine(obj: LogObject): string {
  const time = `${obj.date.toISOString().slice(11, 19)}Z`;
  const tag = obj.tag ? ` [${obj.tag}]` : "";
  const parts = obj.args.map((a) => (typeof a === "string" ? a : detailText(a)));
  return `${time} ${LABELS[obj.type] ?? obj.type}${tag} ${parts.join(" ")}`;
}

const prettyStderr: ConsolaReporter = {
  log(obj) {
    process.stderr.write(`${prettyLine(obj)}\n`);
  },
};

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = LEVELS[options.level ?? "info"];
  const sinks = options.reporters ?? [options.format === "json" ? jsonStderr : prettyStderr];
  if (options.file)
    sinks.push(fileReporter(options.file, options.maxFileBytes ?? 10 * 1024 * 1024, options.maxFiles ?? 5));
  // consola's own throttle drops repeats after 5 within 1 s and only reports them when a different
  // line comes: off. Collapsing is done once, for every tagged child, by the shared reporter.
  return createConsola({ level, throttle: 0, reporters: [collapseRepeats(sinks, options.collapse)] });
}

/** Write pending "repeated N times" summaries now (at shutdown and exit). */
export function flushLog(log: Logger): void {
  for (const r of log.options.reporters) (r as { flush?: () => void }).flush?.();
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return createConsola({ level: LEVELS.silent });
}
