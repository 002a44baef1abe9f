/**
 * The dashboard's plugins view in headless Chromium against the real runtime (fake agent
 * runner): built-ins and an external plugin listed with status and hooks; a message moves the
 * counters; disable and enable from the view reach the host.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import * as v from "valibot";
import { Config } from "../../src/config/schema.ts";
import { silentLogger } from "../../src/log/index.ts";
import { type Runtime, startRuntime } from "../../src/runtime/index.ts";
import { createFakeRunner } from "../fakes/agent-runner.ts";
import { haveChromium, launchChromium } from "./chromium.ts";

const TOKEN = "browser-plugins-token-0123456789";
const OUT = resolve(import.meta.dir, "../../test-results");

describe.skipIf(!haveChromium)("plugins view in Chromium", () => {
  let dir: string;
  let runtime: Runtime;
  let browser: Browser;
  let page: Page;
  const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ngb-browser-plugins-"));
    mkdirSync(OUT, { recursive: true });
    mkdirSync(join(dir, "plugins"));
    writeFileSync(
      join(dir, "plugins", "shout.ts"),
      `export default { name: "shout", version: "2.0.0", description: "Upper-cases messages", setup(api) {
        api.on("message.received", (m) => ({ content: m.content.toUpperCase() }));
      } };`,
    );
    const config = v.parse(Config, {
      dataDir: join(dir, "data"),
      groupsDir: join(dir, "groups"),
      storeDir: join(dir, "store"),
      web: { host: "127.0.0.1", port: 0, token: TOKEN },
      log: { level: "silent" },
      plugins: { dir: join(dir, "plugins"), enabled: ["mention"], config: { mention: { names: ["robo"] } } },
    });
    runtime = await startRuntime({ config, log: silentLogger(), runner: createFakeRunner({ idleMs: 50 }) });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("status, hooks and counters; disable and enable from the view", async () => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await fetch(`${runtime.url}/api/webchat/messages`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ chatId: "default", text: "hello there" }),
    });
    await page.goto(`${runtime.url}/login`);
    await page.fill("#token", TOKEN);
    await page.click("button[type=submit]");
    await page.waitForSelector("#channels");
    await page.click("nav a[data-view=plugins]");
    await page.waitForSelector("[data-plugin=shout]");
    const shout = await page.textContent("[data-plugin=shout]");
    expect(shout).toContain("external 2.0.0");
    expect(shout).toContain("enabled");
    expect(shout).toContain("message.received · 1 calls · 0 failed");
    expect(await page.textContent("[data-plugin=mention]")).toContain("enabled");
    expect(await page.textContent("[data-plugin=allowlist]")).toContain("disabled");
    await page.screenshot({ path: join(OUT, "dashboard-plugins.png") });

    await page.click("[data-plugin=shout] button[data-action=disable]");
    await page.waitForSelector("[data-plugin=shout] button[data-action=enable]");
    const api = async () =>
      (
        (await (await fetch(`${runtime.url}/api/plugins/shout`, { headers: auth })).json()) as {
          plugin: { status: string };
        }
      ).plugin.status;
    expect(await api()).toBe("disabled");
    await page.click("[data-plugin=shout] button[data-action=enable]");
    await page.waitForSelector("[data-plugin=shout] button[data-action=disable]");
    expect(await api()).toBe("enabled");
    expect(errors).toEqual([]);
  }, 30_000);
});
