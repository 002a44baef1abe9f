/**
 * Human units for the task views: intervals as "30m" / "1h 30m" (stored as milliseconds),
 * times in the browser's local zone with the zone shown, and the reverse for the form.
 */

const UNITS: [string, number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
];

/** 5400000 → "1h 30m"; anything under a second stays in ms. */
export function formatInterval(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return String(ms);
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join(" ");
}

/** The browser's IANA zone (e.g. Europe/Berlin). */
export function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** "Tue 14:05 CET" style: local date and time with the zone's short name. */
export function localTime(ms: number | null | undefined, zone?: string): string {
  if (!ms) return "—";
  // dateStyle/timeStyle cannot be combined with timeZoneName: spell the fields out.
  return new Date(ms).toLocaleString([], {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
    ...(zone ? { timeZone: zone } : {}),
  });
}

/** A task's schedule in words: "every 30m", "cron 0 9 * * * (Europe/Berlin)", "once at …". */
export function scheduleText(t: {
  scheduleType: string;
  scheduleValue: string;
  timezone?: string | null;
}): string {
  if (t.scheduleType === "interval") return `every ${formatInterval(Number(t.scheduleValue))}`;
  if (t.scheduleType === "once") {
    const at = Date.parse(t.scheduleValue);
    return Number.isNaN(at) ? `once ${t.scheduleValue}` : `once at ${localTime(at)}`;
  }
  return `cron ${t.scheduleValue}${t.timezone ? ` (${t.timezone})` : ""}`;
}
