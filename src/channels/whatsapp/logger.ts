/**
 * Baileys wants a pino-style logger; this adapts our consola logger to its `ILogger` shape.
 * Baileys is chatty: its info goes to our debug, its trace is dropped.
 */
import type { Logger } from "../../log/index.ts";

export interface PinoLike {
  level: string;
  child(obj: Record<string, unknown>): PinoLike;
  trace(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

function args(obj: unknown, msg?: string): unknown[] {
  if (typeof obj === "string") return [`baileys: ${obj}`];
  const detail = obj instanceof Error ? { error: obj.message } : obj;
  return [`baileys: ${msg ?? ""}`.trimEnd(), detail];
}

export function baileysLogger(log: Logger): PinoLike {
  const self: PinoLike = {
    level: "debug",
    child: () => self,
    trace: () => {},
    debug: (o, m) => log.trace(...(args(o, m) as [string])),
    info: (o, m) => log.debug(...(args(o, m) as [string])),
    warn: (o, m) => log.warn(...(args(o, m) as [string])),
    error: (o, m) => log.error(...(args(o, m) as [string])),
  };
  return self;
}
