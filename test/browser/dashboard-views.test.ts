/**
 * Every dashboard view in headless Chromium at 1280×800 and 390×844, against the real runtime
 * (in-process, fake agent runner): fails on horizontal overflow, on console errors, and on a
 * search highlight that marks anything but the searched word (messages with `[` and `]`).
 * Replies are Markdown rendered safely: HTML and scripts in a message stay text and never run.
 * With the web channel off, Chat says so instead of reconnecting forever.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import * as v from "valibot";
import { Config } from "../../src/config/schema.ts";
import { silentLogger } from "../../src/log/index.ts";
import { type Runtime, startRuntime } from "../../src/runtime/index.ts";
import { createFakeRunner } from "../fakes/agent-runner.ts";
import { until } from "../support/wait.ts";
import { haveChromium, launchChromium } from "./chromium.ts";

const TOKEN = "browser-views-token-0123456789";
const OUT = resolve(import.meta.dir, "../../test-results");
const HOSTILE = `**bold** and \`code\`\n\n- one\n- two\n\n<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> [x](javascript:window.__xss=3)`;
const LONG = "a-very-long-unbroken-word-".repeat(12);

const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;

function config(dir: string, webChannel = true) {
  return v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
    web: { host: "127.0.0.1", port: 0, token: TOKEN },
    log: { level: "silent" },
    channels: { web: { enabled: webChannel } },
  });
}

/** Elements sticking out of the viewport to the right (code blocks excepted: they scroll). */
async function overflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const out: string[] = [];
    if (document.documentElement.scrollWidth > width + 1)
      out.push(`document ${document.documentElement.scrollWidth} > ${width}`);
    for (const el of Array.from(document.querySelectorAll("body *"))) {
      // Only a code block may scroll sideways; a table or the navigation must fit the screen.
      if (el.closest("pre")) continue;
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > width + 1)
        out.push(`${el.tagName.toLowerCase()}.${(el as HTMLElement).className} right=${Math.round(r.right)}`);
    }
    return out.slice(0, 5);
  });
}

describe.skipIf(!haveChromium)("every dashboard view, desktop and phone", () => {
  let dir: string;
  let runtime: Runtime;
  let browser: Browser;
  let taskId = "";

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${runtime.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ngb-browser-views-"));
    mkdirSync(OUT, { recursive: true });
    const runner = createFakeRunner({
      idleMs: 50,
      respond: (t) => [
        {
          status: "success",
          result: t.text.includes("hostile please") ? HOSTILE : `Noted: the ${LONG} stays inside.`,
        },
      ],
    });
    runtime = await startRuntime({ config: config(dir), log: silentLogger(), runner });
    for (const text of [
      "we keep the [draft] list in array[0] and the pancakes] recipe",
      "[pancakes] are on the [menu] today",
      "hostile please",
      `long ${LONG}`,
    ]) {
      const res = await api("/api/webchat/messages", {
        method: "POST",
        body: JSON.stringify({ chatId: "default", text }),
      });
      expect(res.status).toBeLessThan(300);
    }
    const task = await api("/api/tasks", {
      method: "POST",
      body: JSON.stringify({
        groupFolder: "main",
        scheduleType: "interval",
        scheduleValue: "30m",
        prompt: `summarise the day ${LONG}`,
        timezone: "Europe/Berlin",
      }),
    });
    taskId = ((await task.json()) as { task: { id: string } }).task.id;
    browser = await launchChromium();
    // The agent has answered all four before the pages look.
    await until(
      async () => {
        const r = (await (await api("/api/webchat/messages?chatId=default")).json()) as {
          messages: { from: string }[];
        };
        return r.messages.filter((m) => m.from === "assistant").length >= 4;
      },
      { what: "four answers", timeoutMs: 15_000, intervalMs: 100 },
    ).catch(() => {}); // the views are still checked; a missing answer shows there
  }, 40_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(viewport: { width: number; height: number }) {
    const page = await browser.newPage({ viewport });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(`${runtime.url}/?token=${TOKEN}`);
    await page.waitForSelector("#readiness");
    return { page, errors };
  }

  for (const viewport of VIEWPORTS) {
    const size = `${viewport.width}x${viewport.height}`;
    test(`${size}: overview, groups, group, tasks, search, chat fit and log no errors`, async () => {
      const { page, errors } = await open(viewport);
      const views: [string, string][] = [
        ["#/overview", "#readiness li[data-component=credentials]"],
        ["#/groups", "[data-group=main]"],
        ["#/groups/main", "#conversation .msg"],
        ["#/tasks", `tr[data-task="${taskId}"]`],
        ["#/search/pancakes", "#results mark"],
        ["#/chat", "#webchat-log [data-from=assistant]"],
      ];
      for (const [hash, ready] of views) {
        await page.goto(`${runtime.url}/${hash}`);
        await page.waitForSelector(ready, { timeout: 10_000 });
        await page.screenshot({
          path: join(OUT, `views-${hash.replace(/\W+/g, "-")}-${size}.png`),
          fullPage: true,
        });
        expect({ view: hash, overflow: await overflow(page) }).toEqual({ view: hash, overflow: [] });
      }
      // Every navigation link is visible and inside the screen.
      const links = await page.$$eval("nav a", (as) =>
        as.map((a) => {
          const r = a.getBoundingClientRect();
          return {
            text: a.textContent,
            visible: r.width > 0 && r.right <= window.innerWidth + 1 && r.left >= 0,
          };
        }),
      );
      expect(links.filter((l) => !l.visible)).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);
  }

  test("search marks exactly the searched word, brackets in the text notwithstanding", async () => {
    const { page, errors } = await open({ width: 1280, height: 800 });
    for (const word of ["pancakes", "draft", "menu"]) {
      await page.goto(`${runtime.url}/#/search/${word}`);
      await page.waitForSelector("#results mark");
      const marks = await page.$$eval("#results mark", (els) => els.map((e) => e.textContent));
      expect(marks.length).toBeGreaterThan(0);
      expect(marks.map((m) => m?.toLowerCase())).toEqual(marks.map(() => word));
      // The brackets of the message are shown as text.
      const texts = await page.$$eval("#results .text", (els) => els.map((e) => e.textContent));
      expect(texts.some((t) => t?.includes("[") || t?.includes("]"))).toBe(true);
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 30_000);

  test("a reply carrying HTML and script renders as text; Markdown is rendered", async () => {
    for (const hash of ["#/chat", "#/groups/main"]) {
      const { page, errors } = await open({ width: 1280, height: 800 });
      await page.goto(`${runtime.url}/${hash}`);
      const bubble = await page.waitForSelector(`[data-from=assistant]:has-text("onerror")`);
      expect(await bubble.$("strong")).not.toBeNull();
      expect(await bubble.$("script")).toBeNull();
      expect(await bubble.$("img")).toBeNull();
      expect(await bubble.$$eval("li", (lis) => lis.map((l) => l.textContent))).toEqual(["one", "two"]);
      expect(await bubble.textContent()).toContain(
        '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>',
      );
      expect(await bubble.$('a[href^="javascript"]')).toBeNull();
      expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
      // Same sides in both chat views: the assistant left, people right.
      const sides = await page.$$eval("[data-from]", (els) =>
        els.map((e) => ({ from: e.getAttribute("data-from"), them: e.classList.contains("them") })),
      );
      expect(sides.length).toBeGreaterThan(2);
      for (const s of sides) expect(s.them).toBe(s.from === "assistant");
      expect(errors).toEqual([]);
      await page.close();
    }
  }, 30_000);

  test("with the web channel off, Chat says so instead of reconnecting", async () => {
    const offDir = mkdtempSync(join(tmpdir(), "ngb-browser-off-"));
    const off = await startRuntime({
      config: config(offDir, false),
      log: silentLogger(),
      runner: createFakeRunner(),
    });
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    try {
      await page.goto(`${off.url}/?token=${TOKEN}`);
      await page.waitForSelector("#readiness");
      await page.goto(`${off.url}/#/chat`);
      const notice = await page.waitForSelector("#webchat-off");
      expect(await notice.textContent()).toContain("web chat is off");
      expect(await page.textContent("main")).not.toContain("reconnecting");
      // Groups: the empty state names a command that exists.
      await page.goto(`${off.url}/#/groups`);
      await page.waitForSelector(".empty");
      expect(await page.textContent(".empty")).toContain("ngb groups add");
      expect(await overflow(page)).toEqual([]);
    } finally {
      await page.close();
      await off.stop();
      rmSync(offDir, { recursive: true, force: true });
    }
  }, 30_000);
});
