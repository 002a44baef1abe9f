import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventBus } from "../../events/index.ts";
import { silentLogger } from "../../log/index.ts";
import { BUILTINS } from "../../plugins/builtins/index.ts";
import { createPluginHost } from "../../plugins/index.ts";
import { openStore } from "../../store/index.ts";
import { webDeps } from "../../../test/support/web-deps.ts";
import { createApp } from "../app.ts";

const TOKEN = "test-token-0123456789abcdef";
const headers = { authorization: `Bearer ${TOKEN}` };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "ngb-web-plugins-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = openStore(join(dir, "ngb.db"));
  cleanups.push(() => store.close());
  const host = createPluginHost({
    log: silentLogger(),
    options: {
      dir: join(dir, "plugins"),
      enabled: ["mention"],
      config: {},
      maxFailures: 3,
      watch: false,
      cacheDir: join(dir, "cache"),
      stateFile: join(dir, "plugins.json"),
    },
    builtins: BUILTINS,
    send: async () => {},
    read: { groupOf: () => null, recentMessages: () => [] },
  });
  await host.start();
  cleanups.push(() => host.stop());
  const app = createApp(
    webDeps(
      { store, events: createEventBus(), token: TOKEN, groupsDir: join(dir, "groups") },
      { plugins: host },
    ),
  );
  cleanups.push(() => app.dispose());
  const call = (method: string, path: string) => app.request(path, { method, headers });
  return { host, call, dir };
}

test("GET /api/plugins lists every plugin with status and hooks; one by name; 404 for unknown", async () => {
  const { call } = await setup();
  const { plugins } = (await (await call("GET", "/api/plugins")).json()) as {
    plugins: { name: string; status: string }[];
  };
  expect(plugins.map((p) => [p.name, p.status])).toEqual([
    ["allowlist", "disabled"],
    ["auto-reply", "disabled"],
    ["mention", "enabled"],
    ["rate-limiter", "disabled"],
  ]);
  expect(await (await call("GET", "/api/plugins/mention")).json()).toMatchObject({
    plugin: { name: "mention", source: "builtin", hooks: [{ hook: "message.received", priority: 50 }] },
  });
  const missing = await call("GET", "/api/plugins/nope");
  expect(missing.status).toBe(404);
  expect(await missing.json()).toMatchObject({ message: 'no plugin named "nope"' });
  expect((await call("GET", "/api/plugins/Bad%20Name")).status).toBe(400);
});

test("enable and disable persist; reloading a built-in is refused; /metrics has per-hook lines", async () => {
  const { call, host, dir } = await setup();
  expect(await (await call("POST", "/api/plugins/mention/disable")).json()).toMatchObject({
    plugin: { status: "disabled" },
  });
  expect(await Bun.file(join(dir, "plugins.json")).json()).toMatchObject({
    plugins: { mention: { enabled: false } },
  });
  const bad = await call("POST", "/api/plugins/allowlist/enable");
  expect(await bad.json()).toMatchObject({ plugin: { status: "enabled" } });
  const reload = await call("POST", "/api/plugins/allowlist/reload");
  expect(reload.status).toBe(409);
  expect(await reload.json()).toMatchObject({
    message: 'plugin "allowlist": is built in; only external plugins reload',
  });
  await host.hooks.messageReceived({
    chatJid: "web:x",
    channel: "web",
    sender: "u",
    senderName: "U",
    content: "hi",
    isFromMe: false,
    isBot: false,
    mentionsBot: false,
    group: { folder: "x", isMain: false },
  });
  const metrics = await (await call("GET", "/metrics")).text();
  expect(metrics).toContain('ngb_plugin_enabled{plugin="allowlist"} 1');
  expect(metrics).toContain('ngb_plugin_enabled{plugin="mention"} 0');
  expect(metrics).toContain('ngb_plugin_hook_calls_total{plugin="allowlist",hook="message.received"} 1');
  expect(metrics).toContain("# TYPE ngb_plugin_hook_failures_total counter");
});
