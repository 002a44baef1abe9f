import { expect, test } from "bun:test";
import { formatInterval, localTime, scheduleText } from "./units.ts";

test("intervals in human units", () => {
  expect(formatInterval(1_800_000)).toBe("30m");
  expect(formatInterval(5_400_000)).toBe("1h 30m");
  expect(formatInterval(90_061_000)).toBe("1d 1h 1m 1s");
  expect(scheduleText({ scheduleType: "interval", scheduleValue: "3600000" })).toBe("every 1h");
  expect(scheduleText({ scheduleType: "cron", scheduleValue: "0 9 * * *", timezone: "Europe/Berlin" })).toBe(
    "cron 0 9 * * * (Europe/Berlin)",
  );
});

test("local times show the zone (and do not throw)", () => {
  expect(localTime(Date.UTC(2030, 0, 2, 9, 30), "Europe/Berlin")).toMatch(/10:30.*GMT\+1|10:30.*CET/);
  expect(localTime(null)).toBe("—");
});
