/**
 * Schedules: parsing and validation of `cron` (croner, per-task IANA time zone), `interval`
 * (ms or "30s" / "1h30m") and `once` (ISO timestamp or "in 2h"), and the next due time computed
 * from the schedule itself — an interval is anchored on the previous due time, never on when a
 * run finished, so it does not drift.
 */
import { Cron } from "croner";
import { ScheduleError } from "./errors.ts";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Shortest allowed gap between runs: an agent run more often than this is a mistake. */
export const MIN_INTERVAL_MS = 10 * SECOND;
export const MAX_INTERVAL_MS = 366 * DAY;
/** A `once` task more than this far ahead is a typo (year 3026). */
export const MAX_ONCE_AHEAD_MS = 10 * 366 * DAY;
export const MAX_PROMPT_CHARS = 16_000;
const MAX_CRON_CHARS = 200;

export type ScheduleType = "cron" | "interval" | "once";

export type Schedule =
  | { type: "cron"; expr: string; timezone: string }
  | { type: "interval"; ms: number }
  | { type: "once"; at: number };

export interface ScheduleInput {
  type: string;
  value: string | number;
  /** IANA zone for cron (and for a `once` timestamp without offset); default `defaultTimezone`. */
  timezone?: string | null;
}

/** The columns a schedule is stored in. */
export interface StoredSchedule {
  scheduleType: ScheduleType;
  scheduleValue: string;
  timezone: string | null;
}

/** The host's IANA time zone (UTC when the host has none). */
export function hostTimezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** The canonical name of an IANA zone, or a ScheduleError naming `field`. */
const zones = new Map<string, string>();

export function checkTimezone(tz: string, field = "timezone"): string {
  const name = tz.trim();
  const known = zones.get(name);
  if (known) return known;
  try {
    if (!name) throw new RangeError("empty");
    const canonical = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
    if (zones.size < 1_000) zones.set(name, canonical);
    return canonical;
  } catch {
    throw new ScheduleError(
      field,
      `unknown time zone "${tz}" (expected an IANA name like Europe/Berlin or America/New_York)`,
    );
  }
}

const UNITS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: SECOND,
  sec: SECOND,
  secs: SECOND,
  second: SECOND,
  seconds: SECOND,
  m: MINUTE,
  min: MINUTE,
  mins: MINUTE,
  minute: MINUTE,
  minutes: MINUTE,
  h: HOUR,
  hr: HOUR,
  hrs: HOUR,
  hour: HOUR,
  hours: HOUR,
  d: DAY,
  day: DAY,
  days: DAY,
  w: 7 * DAY,
  week: 7 * DAY,
  weeks: 7 * DAY,
};

/**
 * Milliseconds of "1500", "30s", "30m", "2h", "1d", "1h30m", "1 hour 30 minutes"; negative for
 * "-5m"; null when it is not a duration at all.
 */
export function parseDuration(text: string): number | null {
  let s = text.trim().toLowerCase();
  let sign = 1;
  if (s.startsWith("-")) {
    sign = -1;
    s = s.slice(1).trim();
  }
  if (/^\d+(\.\d+)?$/.test(s)) return sign * Number(s);
  const part = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/y;
  let total = 0;
  let matched = 0;
  part.lastIndex = 0;
  while (part.lastIndex < s.length) {
    const m = part.exec(s);
    if (!m) return null;
    const unit = UNITS[m[2]!];
    if (unit === undefined) return null;
    total += Number(m[1]) * unit;
    matched++;
  }
  return matched === 0 ? null : sign * Math.round(total);
}

/** 5_400_000 → "1h30m"; 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  if (ms % SECOND !== 0) return `${ms}ms`;
  let rest = ms;
  let out = "";
  for (const [unit, size] of [
    ["d", DAY],
    ["h", HOUR],
    ["m", MINUTE],
    ["s", SECOND],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || "0s";
}

// ---- cron ----

const cronCache = new Map<string, Cron>();

function cronFor(expr: string, timezone: string): Cron {
  const key = `${timezone}\u0000${expr}`;
  let c = cronCache.get(key);
  if (!c) {
    if (cronCache.size > 20_000) cronCache.clear();
    c = new Cron(expr, { timezone, paused: true });
    cronCache.set(key, c);
  }
  return c;
}

function parseCron(value: string, timezone: string, now: number): Schedule {
  const expr = value.trim().replace(/\s+/g, " ");
  if (!expr) throw new ScheduleError("cron", "cron expression must not be empty");
  if (expr.length > MAX_CRON_CHARS)
    throw new ScheduleError("cron", `cron expression is too long (max ${MAX_CRON_CHARS} characters)`);
  let cron: Cron;
  try {
    cron = cronFor(expr, timezone);
  } catch (err) {
    const reason = (err as Error).message.replace(/^Cron\w*:\s*/, "");
    throw new ScheduleError(
      "cron",
      `invalid cron expression "${expr}": ${reason} (expected e.g. "0 9 * * 1-5": minute hour day-of-month month day-of-week)`,
    );
  }
  const runs = cron.nextRuns(4, new Date(now)).map((d) => d.getTime());
  if (runs.length === 0) throw new ScheduleError("cron", `cron expression "${expr}" never fires`);
  for (let i = 1; i < runs.length; i++)
    if (runs[i]! - runs[i - 1]! < MIN_INTERVAL_MS)
      throw new ScheduleError(
        "cron",
        `cron expression "${expr}" fires more often than every ${formatDuration(MIN_INTERVAL_MS)}`,
      );
  return { type: "cron", expr, timezone };
}

// ---- interval ----

function parseInterval(value: string | number): Schedule {
  const shown = String(value);
  const ms = typeof value === "number" ? value : parseDuration(value);
  if (ms === null || !Number.isFinite(ms))
    throw new ScheduleError(
      "interval",
      `invalid interval "${shown}": expected milliseconds or a duration like 30s, 30m, 2h, 1d, 1h30m`,
    );
  if (ms <= 0) throw new ScheduleError("interval", `interval must be positive (got "${shown}")`);
  if (ms < MIN_INTERVAL_MS)
    throw new ScheduleError(
      "interval",
      `interval must be at least ${formatDuration(MIN_INTERVAL_MS)} (got "${shown}")`,
    );
  if (ms > MAX_INTERVAL_MS)
    throw new ScheduleError(
      "interval",
      `interval must be at most ${formatDuration(MAX_INTERVAL_MS)} (got "${shown}")`,
    );
  return { type: "interval", ms: Math.round(ms) };
}

// ---- once ----

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `tz` from UTC at instant `t`, in ms. */
export function zoneOffsetMs(t: number, tz: string): number {
  let f = partsFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    partsFormatters.set(tz, f);
  }
  const p: Record<string, number> = {};
  for (const { type, value } of f.formatToParts(new Date(t))) p[type] = Number(value);
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asUtc - (t - (((t % SECOND) + SECOND) % SECOND));
}

/** A wall-clock time in `tz` as an instant (a time in a spring-forward gap moves forward). */
export function zonedTimeToUtc(wall: number, tz: string): number {
  const first = wall - zoneOffsetMs(wall, tz);
  const second = wall - zoneOffsetMs(first, tz);
  return second;
}

const ONCE_FORM = `expected an ISO timestamp like 2026-05-01T09:00:00+02:00 or a relative time like "in 2h"`;

function parseOnce(value: string, timezone: string, now: number): Schedule {
  const text = value.trim();
  let at: number;
  const rel = /^in\s+(.+)$/i.exec(text);
  if (rel) {
    const ms = parseDuration(rel[1]!);
    if (ms === null) throw new ScheduleError("once", `once: ${ONCE_FORM} (got "${value}")`);
    if (ms <= 0) throw new ScheduleError("once", `once: "${text}" is not in the future`);
    // Whole seconds: "in 2h" means a time a person can read back, not …:29:59.176.
    at = Math.ceil((now + ms) / SECOND) * SECOND;
  } else {
    const m = ISO.exec(text);
    if (!m) throw new ScheduleError("once", `once: ${ONCE_FORM} (got "${value}")`);
    const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "0", off] = m;
    const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
    const wall = Date.UTC(...fields, Math.floor(Number(`0.${frac}`) * 1000));
    const check = new Date(wall);
    if (
      check.getUTCFullYear() !== fields[0] ||
      check.getUTCMonth() !== fields[1] ||
      check.getUTCDate() !== fields[2] ||
      fields[3] > 23 ||
      fields[4] > 59 ||
      fields[5] > 59
    )
      throw new ScheduleError("once", `once: "${text}" is not a valid date and time`);
    if (off) {
      if (off.toUpperCase() === "Z") at = wall;
      else {
        const sign = off.startsWith("-") ? -1 : 1;
        const digits = off.slice(1).replace(":", "");
        const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || "0");
        at = wall - sign * minutes * MINUTE;
      }
    } else at = zonedTimeToUtc(wall, timezone);
    if (at <= now) throw new ScheduleError("once", `once: ${text} is in the past`);
  }
  if (at - now > MAX_ONCE_AHEAD_MS)
    throw new ScheduleError("once", `once: ${text} is more than 10 years ahead`);
  return { type: "once", at };
}

// ---- public API ----

export interface ParseOptions {
  now: number;
  /** Zone when the input names none; default the host's. */
  defaultTimezone?: string;
}

/** Validate a schedule given by a person or an agent; throws ScheduleError naming the field. */
export function parseSchedule(input: ScheduleInput, { now, defaultTimezone }: ParseOptions): Schedule {
  const tz = checkTimezone(input.timezone ?? defaultTimezone ?? hostTimezone());
  const type = input.type;
  if (type === "interval") return parseInterval(input.value);
  if (typeof input.value !== "string")
    throw new ScheduleError(
      type === "cron" || type === "once" ? type : "scheduleType",
      `${type} needs a string value`,
    );
  if (type === "cron") return parseCron(input.value, tz, now);
  if (type === "once") return parseOnce(input.value, tz, now);
  throw new ScheduleError("scheduleType", `schedule type must be cron, interval or once (got "${type}")`);
}

/** The columns a schedule is stored in (normalized: interval in ms, once as a UTC ISO string). */
export function toStored(s: Schedule): StoredSchedule {
  switch (s.type) {
    case "cron":
      return { scheduleType: "cron", scheduleValue: s.expr, timezone: s.timezone };
    case "interval":
      return { scheduleType: "interval", scheduleValue: String(s.ms), timezone: null };
    case "once":
      return { scheduleType: "once", scheduleValue: new Date(s.at).toISOString(), timezone: null };
  }
}

/** The schedule of a stored task (stored values were validated at creation; no "past" check). */
export function storedSchedule(t: StoredSchedule): Schedule {
  switch (t.scheduleType) {
    case "cron": {
      const timezone = checkTimezone(t.timezone ?? hostTimezone());
      try {
        cronFor(t.scheduleValue, timezone);
      } catch (err) {
        throw new ScheduleError(
          "cron",
          `invalid cron expression "${t.scheduleValue}": ${(err as Error).message}`,
        );
      }
      return { type: "cron", expr: t.scheduleValue, timezone };
    }
    case "interval": {
      const ms = Number(t.scheduleValue);
      if (!Number.isFinite(ms) || ms <= 0)
        throw new ScheduleError("interval", `invalid stored interval "${t.scheduleValue}"`);
      return { type: "interval", ms };
    }
    case "once": {
      const at = Date.parse(t.scheduleValue);
      if (Number.isNaN(at)) throw new ScheduleError("once", `invalid stored time "${t.scheduleValue}"`);
      return { type: "once", at };
    }
  }
}

/**
 * The first due time strictly after `after`. `anchor` is the previous due time: an interval's
 * slots are anchor + k·ms (so a late or long run never shifts them); without an anchor (a new
 * or resumed task) the first slot is `after` + ms. A `once` schedule has a slot only when it
 * has not been due yet (no anchor).
 */
export function nextSlot(s: Schedule, after: number, anchor: number | null = null): number | null {
  switch (s.type) {
    case "cron": {
      const from = anchor !== null && anchor > after ? anchor : after;
      return cronFor(s.expr, s.timezone).nextRun(new Date(from))?.getTime() ?? null;
    }
    case "interval": {
      if (anchor === null) return after + s.ms;
      const k = Math.max(1, Math.floor((after - anchor) / s.ms) + 1);
      return anchor + k * s.ms;
    }
    case "once":
      return anchor === null && s.at > after ? s.at : null;
  }
}

/** `nextSlot` for a stored task, anchored on its current `nextRun`. */
export function nextRun(task: StoredSchedule & { nextRun: number | null }, after: number): number | null {
  return nextSlot(storedSchedule(task), after, task.nextRun);
}

/**
 * The slots in [first, to], where `first` is a due time of the schedule: how many, and the
 * last. Cron counting stops at `cap` (then `capped` is true).
 */
export function slotsBetween(
  s: Schedule,
  first: number,
  to: number,
  cap = 10_000,
): { count: number; last: number; capped: boolean } {
  if (to < first) return { count: 0, last: first, capped: false };
  if (s.type === "interval") {
    const count = Math.floor((to - first) / s.ms) + 1;
    return { count, last: first + (count - 1) * s.ms, capped: false };
  }
  if (s.type === "once") return { count: 1, last: first, capped: false };
  const cron = cronFor(s.expr, s.timezone);
  let count = 1;
  let last = first;
  while (count < cap) {
    const n = cron.nextRun(new Date(last))?.getTime();
    if (n === undefined || n > to) return { count, last, capped: false };
    last = n;
    count++;
  }
  return { count, last, capped: true };
}

/** For people: `cron "0 9 * * 1-5" (Europe/Berlin)`, `every 30m`, `once at 2026-…Z`. */
export function describeSchedule(s: Schedule): string {
  switch (s.type) {
    case "cron":
      return `cron "${s.expr}" (${s.timezone})`;
    case "interval":
      return `every ${formatDuration(s.ms)}`;
    case "once":
      return `once at ${new Date(s.at).toISOString()}`;
  }
}

/** A task prompt: not empty (after trimming), at most MAX_PROMPT_CHARS. */
export function checkPrompt(prompt: unknown): string {
  if (typeof prompt !== "string" || prompt.trim() === "")
    throw new ScheduleError("prompt", "prompt must not be empty");
  if (prompt.length > MAX_PROMPT_CHARS)
    throw new ScheduleError(
      "prompt",
      `prompt is too long: ${prompt.length.toLocaleString("en-US")} characters (max ${MAX_PROMPT_CHARS.toLocaleString("en-US")})`,
    );
  return prompt;
}
