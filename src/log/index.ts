/**
 * Logging: consola to stderr, pretty for people or one JSON object a line for machines, plus an
 * optional log file with size-based rotation. `createLogger()` is called once in a command;
 * modules get a tagged child (`log.withTag("scheduler")`) passed in.
 */
import { appendFileSync, existsSync, mkdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { type ConsolaInstance, type ConsolaReporter, createConsola, type LogObject } from "consola";

export type Logger = ConsolaInstance;

export interface LoggerOptions {
  level?: "silent" | "error" | "warn" | "info" | "debug" | "trace";
  format?: "pretty" | "json";
  file?: string;
  maxFileBytes?: number;
  maxFiles?: number;
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
  mkdirSync(dirname(file), { recursive: true });
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
      appendFileSync(file, line);
      size += line.length;
    },
  };
}

const jsonStderr: ConsolaReporter = {
  log(obj) {
    process.stderr.write(`${jsonLine(obj)}\n`);
  },
};

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = LEVELS[options.level ?? "info"];
  const log = createConsola({
    level,
    stdout: process.stderr,
    stderr: process.stderr,
  });
  if (options.format === "json") log.setReporters([jsonStderr]);
  if (options.file) {
    log.addReporter(
      fileReporter(options.file, options.maxFileBytes ?? 10 * 1024 * 1024, options.maxFiles ?? 5),
    );
  }
  return log;
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return createConsola({ level: LEVELS.silent });
}
