/**
 * The dashboard in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core),
 * against the real `ngb serve` runtime started in-process (`startRuntime`) with the in-process
 * fake AgentRunner (test/fakes/agent-runner.ts) instead of docker: log in with the token, see
 * the group, send a message through the webchat, see the agent's reply arrive live, search for
 * it, and screenshot the overview (desktop and a 390 px phone) under test-results/.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import * as v from "valibot";
import { Config } from "../../src/config/schema.ts";
import { createEventBus } from "../../src/events/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { openStore } from "../../src/store/index.ts";
import { createApp } from "../../src/web/app.ts";
import { type Runtime, startRuntime } from "../../src/runtime/index.ts";
import type { ChannelHealth } from "../../src/orchestrator/index.ts";
import { createFakeRunner } from "../fakes/agent-runner.ts";
import { idleRuntime, webDeps } from "../support/web-deps.ts";
import { haveChromium, launchChromium } from "./chromium.ts";

const TOKEN = "browser-test-token-0123456789";
const OUT = resolve(import.meta.dir, "../../test-results");

describe.skipIf(!haveChromium)("dashboard in Chromium", () => {
  let dir: string;
  let runtime: Runtime;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ngb-browser-"));
    mkdirSync(OUT, { recursive: true });
    const config = v.parse(Config, {
      dataDir: join(dir, "data"),
      groupsDir: join(dir, "groups"),
      storeDir: join(dir, "store"),
      web: { host: "127.0.0.1", port: 0, token: TOKEN },
      log: { level: "silent" },
    });
    const runner = createFakeRunner({
      idleMs: 50,
      respond: (t) => [
        {
          status: "success",
          result: `Reply to: ${t.text
            .replace(/<[^>]+>/g, "")
            .trim()
            .slice(-60)}`,
        },
      ],
    });
    runtime = await startRuntime({ config, log: silentLogger(), runner });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("log in, see the group, chat with the agent live, search, screenshot", async () => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    // Without the cookie the dashboard sends us to the login form.
    await page.goto(runtime.url);
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.fill("#token", "wrong-token");
    await page.click("button[type=submit]");
    await page.waitForSelector("text=Wrong token.");
    await page.fill("#token", TOKEN);
    await page.click("button[type=submit]");
    await page.waitForSelector("#channels");
    expect(new URL(page.url()).pathname).toBe("/");
    // The web channel reports itself connected on the overview.
    await page.waitForSelector("#channels li:has-text('web')");

    // Groups: the main web group registered on first start.
    await page.click("nav a[data-view=groups]");
    await page.waitForSelector("[data-group=main]");
    expect(await page.textContent("[data-group=main]")).toContain("Web chat");

    // Webchat: send, and the fake agent's reply arrives over the WebSocket without a reload.
    await page.click("nav a[data-view=chat]");
    await page.fill("#webchat-input", "what is the airspeed of a swallow");
    await page.click("#webchat-send");
    await page.waitForSelector("#webchat-log [data-from=user]:has-text('airspeed of a swallow')");
    const reply = await page.waitForSelector("#webchat-log [data-from=assistant]:has-text('Reply to:')", {
      timeout: 15_000,
    });
    expect(await reply.textContent()).toContain("airspeed of a swallow");

    // The group's conversation shows both, and the reply got there live too.
    await page.click("nav a[data-view=groups]");
    await page.click("[data-group=main]");
    await page.waitForSelector("#conversation .msg:has-text('Reply to:')");
    expect(await page.locator("#conversation .msg:has-text('Reply to:')").count()).toBe(1);
    await page.screenshot({ path: join(OUT, "dashboard-group.png") });

    // Search finds the reply.
    await page.click("nav a[data-view=search]");
    await page.fill("input[name=q]", "swallow");
    await page.press("input[name=q]", "Enter");
    await page.waitForSelector("#results li");
    const results = await page.textContent("#results");
    expect(results).toContain("swallow");
    expect(await page.$$eval("#results mark", (els) => els.map((e) => e.textContent))).toContain("swallow");

    await page.click("nav a[data-view=tasks]");
    await page.waitForSelector("form.form select[name=groupFolder] option[value=main]", {
      state: "attached",
    });
    await page.fill("input[name=scheduleValue]", "0 9 * * *");
    await page.fill("textarea[name=prompt]", "post the daily summary");
    await page.click("form.form button[type=submit]");
    await page.waitForSelector("tr[data-task]:has-text('post the daily summary') .badge.active");
    await page.click("tr[data-task] button:has-text('pause')");
    await page.waitForSelector("tr[data-task] .badge.paused");
    await page.screenshot({ path: join(OUT, "dashboard-tasks.png") });

    // Overview screenshots: desktop and phone width.
    await page.click("nav a[data-view=overview]");
    await page.waitForSelector("#errors");
    await page.screenshot({ path: join(OUT, "dashboard-overview.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForSelector("#channels");
    await page.screenshot({ path: join(OUT, "dashboard-overview-390.png"), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.click("nav a[data-view=chat]");
    await page.waitForSelector("#webchat-log [data-from=assistant]");
    await page.screenshot({ path: join(OUT, "dashboard-chat-390.png") });
    await page.setViewportSize({ width: 1280, height: 800 });

    expect(errors).toEqual([]);
  }, 60_000);

  test("a WhatsApp pairing QR reported on the bus appears live on the overview", async () => {
    // A bare app on its own bus: the channel's health (the status source) gains a QR and the
    // channel reports it on the bus, as the WhatsApp adapter does through its sink.
    const store = openStore(join(dir, "qr.db"));
    const events = createEventBus();
    let channels: ChannelHealth[] = [];
    const app = createApp(
      webDeps(
        { store, events, token: TOKEN, groupsDir: join(dir, "qr-groups") },
        { runtime: idleRuntime({ channels: () => channels }) },
      ),
    );
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
    try {
      const qrPage = await browser.newPage({ viewport: { width: 390, height: 844 } });
      await qrPage.goto(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
      await qrPage.waitForSelector("#channels");
      await qrPage.waitForFunction(() => document.querySelector("header .dot.connected"));
      const qr =
        "2@Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg==,aGVsbG8gd29ybGQgZnJvbSB0aGUgcXIgdGVzdA==,c2VjcmV0a2V5MTIz";
      channels = [{ name: "whatsapp", state: "connecting", qr }];
      events.emit("channel.status", { channel: "whatsapp", state: "connecting", qr });
      const svg = await qrPage.waitForSelector("#channels .qr svg path");
      expect(((await svg.getAttribute("d")) ?? "").length).toBeGreaterThan(1000);
      await qrPage.screenshot({ path: join(OUT, "dashboard-qr-390.png"), fullPage: true });
      await qrPage.close();
    } finally {
      server.stop(true);
      app.dispose();
      store.close();
    }
  }, 30_000);
});
