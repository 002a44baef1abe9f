import { describe, expect, test } from "bun:test";
import { ScheduleError } from "./errors.ts";
import {
  checkPrompt,
  formatDuration,
  nextRun,
  nextSlot,
  parseDuration,
  parseSchedule,
  type Schedule,
  slotsBetween,
  toStored,
} from "./schedule.ts";

const T = (s: string) => Date.parse(s);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const NOW = T("2026-01-05T08:00:00Z");

function runs(s: Schedule, from: string, n: number): string[] {
  const out: string[] = [];
  let t = T(from);
  let anchor: number | null = null;
  for (let i = 0; i < n; i++) {
    const next = nextSlot(s, t, anchor);
    if (next === null) break;
    out.push(iso(next)!);
    t = next;
    anchor = next;
  }
  return out;
}

function refused(fn: () => unknown): ScheduleError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ScheduleError);
    return err as ScheduleError;
  }
  throw new Error("expected a ScheduleError");
}

describe("cron across DST and time zones", () => {
  test("Europe/Berlin spring forward: 02:30 does not exist, the run happens once at 03:00 CEST", () => {
    const s = parseSchedule({ type: "cron", value: "30 2 * * *", timezone: "Europe/Berlin" }, { now: NOW });
    expect(runs(s, "2026-03-27T12:00:00Z", 3)).toEqual([
      "2026-03-28T01:30:00.000Z", // 02:30 CET
      "2026-03-29T01:00:00.000Z", // 03:00 CEST (02:30 skipped by the clock change)
      "2026-03-30T00:30:00.000Z", // 02:30 CEST
    ]);
  });

  test("Europe/Berlin fall back: 02:30 happens twice on the clock, the task runs once", () => {
    const s = parseSchedule({ type: "cron", value: "30 2 * * *", timezone: "Europe/Berlin" }, { now: NOW });
    const r = runs(s, "2026-10-24T12:00:00Z", 2);
    expect(r).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
  });

  test("a 09:00 weekday cron keeps 09:00 wall time in America/New_York across the DST change", () => {
    const s = parseSchedule(
      { type: "cron", value: "0 9 * * 1-5", timezone: "America/New_York" },
      { now: NOW },
    );
    expect(runs(s, "2026-03-06T00:00:00Z", 3)).toEqual([
      "2026-03-06T14:00:00.000Z", // Fri, EST (UTC-5)
      "2026-03-09T13:00:00.000Z", // Mon, EDT (UTC-4): weekend skipped, DST began Sunday
      "2026-03-10T13:00:00.000Z",
    ]);
  });

  test("the same expression in different zones fires at different instants", () => {
    const at = (tz: string) =>
      iso(nextSlot(parseSchedule({ type: "cron", value: "0 9 * * *", timezone: tz }, { now: NOW }), NOW));
    expect(at("UTC")).toBe("2026-01-05T09:00:00.000Z");
    expect(at("Asia/Tokyo")).toBe("2026-01-06T00:00:00.000Z");
    expect(at("America/Los_Angeles")).toBe("2026-01-05T17:00:00.000Z");
  });

  test("the default zone applies when the task names none", () => {
    const s = parseSchedule(
      { type: "cron", value: "0 9 * * *" },
      { now: NOW, defaultTimezone: "Asia/Kolkata" },
    );
    expect(toStored(s).timezone).toBe("Asia/Kolkata");
    expect(iso(nextSlot(s, NOW))).toBe("2026-01-06T03:30:00.000Z");
  });
});

describe("interval", () => {
  test("human forms and ms", () => {
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("30m")).toBe(1_800_000);
    expect(parseDuration("2h")).toBe(7_200_000);
    expect(parseDuration("1d")).toBe(86_400_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("1 hour 30 minutes")).toBe(5_400_000);
    expect(parseDuration("90000")).toBe(90_000);
    expect(parseDuration("soon")).toBeNull();
    expect(formatDuration(5_400_000)).toBe("1h30m");
    const s = parseSchedule({ type: "interval", value: 60_000 }, { now: NOW });
    expect(s).toEqual({ type: "interval", ms: 60_000 });
  });

  test("no drift: the next slot is anchored on the previous due time, not on when the run ended", () => {
    const s = parseSchedule({ type: "interval", value: "30m" }, { now: NOW });
    const first = nextSlot(s, NOW)!;
    expect(iso(first)).toBe("2026-01-05T08:30:00.000Z");
    // The run finished 7 minutes late: the next slot is still 09:00, not 09:07.
    expect(iso(nextSlot(s, first + 7 * 60_000, first))).toBe("2026-01-05T09:00:00.000Z");
    // Three slots missed (downtime): the next is the first future slot on the same grid.
    expect(iso(nextSlot(s, T("2026-01-05T10:10:00Z"), first))).toBe("2026-01-05T10:30:00.000Z");
    // Exactly on a slot: strictly after.
    expect(iso(nextSlot(s, T("2026-01-05T10:30:00Z"), first))).toBe("2026-01-05T11:00:00.000Z");
    expect(slotsBetween(s, first, T("2026-01-05T10:10:00Z"))).toEqual({
      count: 4,
      last: T("2026-01-05T10:00:00Z"),
      capped: false,
    });
  });

  test("nextRun of a stored task uses its next_run as the anchor", () => {
    const stored = { scheduleType: "interval" as const, scheduleValue: "600000", timezone: null };
    expect(iso(nextRun({ ...stored, nextRun: T("2026-01-05T08:05:00Z") }, T("2026-01-05T08:06:00Z")))).toBe(
      "2026-01-05T08:15:00.000Z",
    );
  });
});

describe("once", () => {
  test("ISO with offset, without offset (task zone) and relative", () => {
    const a = parseSchedule({ type: "once", value: "2026-01-05T11:00:00+02:00" }, { now: NOW });
    expect(a).toEqual({ type: "once", at: T("2026-01-05T09:00:00Z") });
    expect(toStored(a).scheduleValue).toBe("2026-01-05T09:00:00.000Z");
    const b = parseSchedule(
      { type: "once", value: "2026-01-05T10:00:00", timezone: "Europe/Berlin" },
      { now: NOW },
    );
    expect(iso((b as { at: number }).at)).toBe("2026-01-05T09:00:00.000Z");
    const c = parseSchedule({ type: "once", value: "in 2h" }, { now: NOW });
    expect(iso((c as { at: number }).at)).toBe("2026-01-05T10:00:00.000Z");
    const d = parseSchedule({ type: "once", value: "in 90m" }, { now: NOW });
    expect(iso(nextSlot(d, NOW))).toBe("2026-01-05T09:30:00.000Z");
    // After it was due once, there is no next slot.
    expect(nextSlot(d, NOW, (d as { at: number }).at)).toBeNull();
  });
});

describe("bad input is refused with a clear message naming the field", () => {
  const cases: [string, () => unknown, string, RegExp][] = [
    [
      "cron",
      () => parseSchedule({ type: "cron", value: "x" }, { now: NOW }),
      "cron",
      /^invalid cron expression "x": /,
    ],
    [
      "cron never",
      () => parseSchedule({ type: "cron", value: "0 0 30 2 *" }, { now: NOW }),
      "cron",
      /never fires/,
    ],
    [
      "cron too often",
      () => parseSchedule({ type: "cron", value: "* * * * * *" }, { now: NOW }),
      "cron",
      /fires more often than every 10s/,
    ],
    [
      "tz",
      () => parseSchedule({ type: "cron", value: "0 9 * * *", timezone: "Mars/Base" }, { now: NOW }),
      "timezone",
      /^unknown time zone "Mars\/Base"/,
    ],
    [
      "zero",
      () => parseSchedule({ type: "interval", value: "0" }, { now: NOW }),
      "interval",
      /^interval must be positive/,
    ],
    [
      "neg",
      () => parseSchedule({ type: "interval", value: "-5m" }, { now: NOW }),
      "interval",
      /^interval must be positive/,
    ],
    [
      "neg ms",
      () => parseSchedule({ type: "interval", value: -1 }, { now: NOW }),
      "interval",
      /must be positive/,
    ],
    [
      "tiny",
      () => parseSchedule({ type: "interval", value: "1s" }, { now: NOW }),
      "interval",
      /at least 10s/,
    ],
    [
      "huge",
      () => parseSchedule({ type: "interval", value: "400d" }, { now: NOW }),
      "interval",
      /at most 366d/,
    ],
    [
      "junk",
      () => parseSchedule({ type: "interval", value: "often" }, { now: NOW }),
      "interval",
      /invalid interval "often"/,
    ],
    [
      "past",
      () => parseSchedule({ type: "once", value: "2020-01-01T00:00:00Z" }, { now: NOW }),
      "once",
      /^once: 2020-01-01T00:00:00Z is in the past$/,
    ],
    [
      "bad date",
      () => parseSchedule({ type: "once", value: "2026-02-30T10:00:00Z" }, { now: NOW }),
      "once",
      /not a valid date/,
    ],
    [
      "not a date",
      () => parseSchedule({ type: "once", value: "tomorrow" }, { now: NOW }),
      "once",
      /expected an ISO timestamp/,
    ],
    [
      "in 0m",
      () => parseSchedule({ type: "once", value: "in 0m" }, { now: NOW }),
      "once",
      /not in the future/,
    ],
    [
      "far",
      () => parseSchedule({ type: "once", value: "3026-01-01T00:00:00Z" }, { now: NOW }),
      "once",
      /10 years/,
    ],
    [
      "type",
      () => parseSchedule({ type: "weekly", value: "x" }, { now: NOW }),
      "scheduleType",
      /cron, interval or once/,
    ],
    ["empty prompt", () => checkPrompt("   "), "prompt", /must not be empty/],
    [
      "huge prompt",
      () => checkPrompt("x".repeat(16_001)),
      "prompt",
      /too long: 16,001 characters \(max 16,000\)/,
    ],
  ];
  for (const [name, fn, field, message] of cases)
    test(name, () => {
      const err = refused(fn);
      expect(err.field).toBe(field);
      expect(err.message).toMatch(message);
    });
  test("a prompt of exactly 16,000 characters is fine", () => {
    expect(checkPrompt("y".repeat(16_000)).length).toBe(16_000);
  });
});
