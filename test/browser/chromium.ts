/**
 * Debian's Chromium (apt-get install chromium) driven by playwright-core, for the dashboard
 * tests. Missing Chromium skips locally and fails under CI (test/support/engine.ts prerequisite).
 */
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { prerequisite } from "../support/engine.ts";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const haveChromium = prerequisite(
  existsSync(CHROMIUM),
  `dashboard browser test: no Chromium at ${CHROMIUM} (apt-get install chromium)`,
);

/** Headless, offline: no first-run, sync, component updates or background traffic. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
