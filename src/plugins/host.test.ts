import { afterEach, describe, expect, test } from "bun:test";
import { createLogger } from "../log/index.ts";
import { createPluginHost, type PluginHost } from "./host.ts";
import { definePlugin } from "./define.ts";
import type { PluginDefinition } from "./types.ts";

const hosts: PluginHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop();
});

const msg = (content: string, extra: Record<string, unknown> = {}) => ({
  chatJid: "web:g",
  channel: "web",
  sender: "u1",
  senderName: "Ann",
  content,
  isFromMe: false,
  isBot: false,
  mentionsBot: false,
  group: { folder: "g", isMain: false },
  ...extra,
});

async function host(
  defs: PluginDefinition[],
  opts: { maxFailures?: number; config?: Record<string, unknown> } = {},
) {
  const sent: { jid: string; text: string; plugin: string }[] = [];
  let h: PluginHost | null = null;
  h = createPluginHost({
    log: createLogger({ level: "silent" }),
    options: {
      dir: "/nonexistent",
      enabled: defs.map((d) => d.name),
      config: opts.config ?? {},
      maxFailures: opts.maxFailures ?? 3,
      watch: false,
      cacheDir: "/tmp",
    },
    builtins: defs,
    // Like the real delivery: message.sending runs for plugin sends, then message.sent.
    send: async (jid, text, plugin) => {
      const r = await h!.hooks.messageSending({ chatJid: jid, text, source: "plugin", plugin });
      if (r.action === "continue") {
        sent.push({ jid, text: r.text, plugin });
        h!.hooks.messageSent({ chatJid: jid, text: r.text, channel: "web" });
      }
    },
    read: { groupOf: () => null, recentMessages: () => [] },
  });
  hosts.push(h);
  await h.start();
  return { h, sent };
}

describe("changing hooks", () => {
  test("run in priority order, each seeing the previous output; drop stops the chain", async () => {
    const seen: string[] = [];
    const a = definePlugin({
      name: "a",
      version: "1",
      setup(api) {
        api.on("message.received", (m) => {
          seen.push(`a:${m.content}`);
          return { content: `${m.content}+a` };
        });
      },
    });
    const b = definePlugin({
      name: "b",
      version: "1",
      setup(api) {
        api.on(
          "message.received",
          (m) => {
            seen.push(`b:${m.content}`);
            return { content: `${m.content}+b` };
          },
          { priority: 10 },
        );
      },
    });
    const { h } = await host([a, b]);
    expect(await h.hooks.messageReceived(msg("x"))).toEqual({ action: "continue", content: "x+b+a" });
    expect(seen).toEqual(["b:x", "a:x+b"]);
    expect(h.hooks.handles?.("message.received")).toBe(true);
    expect(h.hooks.handles?.("agent.result")).toBe(false);
    const dropper = definePlugin({
      name: "dropper",
      version: "1",
      setup(api) {
        api.on(
          "message.received",
          (m) => (m.content.includes("spam") ? { drop: "looks like spam" } : undefined),
          {
            priority: 100,
          },
        );
      },
    });
    const { h: h2 } = await host([a, dropper]);
    expect(await h2.hooks.messageReceived(msg("spam!"))).toEqual({
      action: "drop",
      plugin: "dropper",
      reason: "looks like spam",
    });
  });

  test("agent.starting adds context and agent.result suppresses or rewrites", async () => {
    const p = definePlugin({
      name: "ctx",
      version: "1",
      setup(api) {
        api.on("agent.starting", (m) => ({ context: `<ctx group="${m.group.folder}"/>` }));
        api.on("agent.result", (m) =>
          m.text === "secret"
            ? { suppress: "redacted" }
            : m.text
              ? { text: m.text.toUpperCase() }
              : undefined,
        );
        api.on("message.sending", (m) =>
          m.text.includes("nope") ? { cancel: "blocked" } : { text: `${m.text}!` },
        );
      },
    });
    const { h } = await host([p]);
    const group = { folder: "g", jid: "web:g", isMain: false };
    expect(await h.hooks.agentStarting({ group, prompt: "hi", kind: "messages" })).toEqual({
      prompt: '<ctx group="g"/>\n\nhi',
    });
    expect(await h.hooks.agentResult({ group, text: "secret", status: "success" })).toEqual({
      action: "suppress",
      plugin: "ctx",
      reason: "redacted",
    });
    expect(await h.hooks.agentResult({ group, text: "ok", status: "success" })).toEqual({
      action: "continue",
      text: "OK",
    });
    expect(await h.hooks.messageSending({ chatJid: "web:g", text: "nope", source: "agent" })).toMatchObject({
      action: "cancel",
    });
    expect(await h.hooks.messageSending({ chatJid: "web:g", text: "yes", source: "agent" })).toEqual({
      action: "continue",
      text: "yes!",
    });
  });
});

describe("failure isolation", () => {
  test("throwing, hanging and wrong-shaped handlers are skipped, counted, then the plugin is disabled", async () => {
    let calls = 0;
    const bad = definePlugin({
      name: "bad",
      version: "1",
      setup(api) {
        api.on(
          "message.received",
          async () => {
            calls++;
            if (calls === 1) throw new Error("boom");
            if (calls === 2) return new Promise(() => {}); // hangs
            return { contnt: "typo" } as never;
          },
          { timeoutMs: 50 },
        );
      },
    });
    const good = definePlugin({
      name: "good",
      version: "1",
      setup(api) {
        api.on("message.received", (m) => ({ content: `${m.content}!` }));
      },
    });
    const { h } = await host([bad, good], { maxFailures: 3 });
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      expect(await h.hooks.messageReceived(msg("hi"))).toEqual({ action: "continue", content: "hi!" });
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    const st = h.get("bad");
    expect(st.status).toBe("failed");
    expect(st.failures).toBe(3);
    expect(st.lastError?.message).toContain("wrong");
    expect(h.metrics()).toContain(
      'ngb_plugin_hook_failures_total{plugin="bad",hook="message.received",kind="timeout"} 1',
    );
    // Disabled: no longer called.
    await h.hooks.messageReceived(msg("hi"));
    expect(calls).toBe(3);
    // Re-enabled by the user.
    expect((await h.enable("bad")).status).toBe("enabled");
  });

  test("unknown hook, bad options, bad config and failing setup are refused, naming the plugin", async () => {
    const unknown = definePlugin({
      name: "unk",
      version: "1",
      setup: (api) => api.on("message.recieved" as never, (() => {}) as never),
    });
    const badOpt = definePlugin({
      name: "opt",
      version: "1",
      setup: (api) => api.on("message.sent", () => {}, { timeoutMs: -1 }),
    });
    const { h } = await host(
      [unknown, badOpt, (await import("./builtins/rate-limiter.ts")).default as PluginDefinition],
      {
        config: { "rate-limiter": { perChatPerMinute: "lots" } },
      },
    );
    expect(h.get("unk")).toMatchObject({ status: "error" });
    expect(h.get("unk").lastError?.message).toContain('plugin "unk": unknown hook "message.recieved"');
    expect(h.get("opt").lastError?.message).toContain('plugin "opt": timeoutMs');
    expect(h.get("rate-limiter").lastError?.message).toContain(
      'plugin "rate-limiter": config plugins.config.rate-limiter.perChatPerMinute',
    );
    expect(await h.hooks.messageReceived(msg("hi"))).toEqual({ action: "continue", content: "hi" });
  });

  test("a send from message.sent that would loop is refused at the depth limit", async () => {
    const echo = definePlugin({
      name: "echo",
      version: "1",
      setup(api) {
        api.on("message.sent", async (m) => {
          await api.send(m.chatJid, `echo ${m.text}`);
        });
      },
    });
    const { h, sent } = await host([echo], { maxFailures: 100 });
    h.hooks.messageSent({ chatJid: "web:g", text: "hello", channel: "web" });
    await Bun.sleep(50);
    expect(sent.map((s) => s.text)).toEqual(["echo hello"]);
    expect(h.get("echo").lastError?.message).toContain(
      'plugin "echo": send() from inside message.sent re-entered',
    );
  });
});

test("no plugins: hooks pass everything through", async () => {
  const { h } = await host([]);
  expect(await h.hooks.messageReceived(msg("x"))).toEqual({ action: "continue", content: "x" });
  expect(h.list()).toEqual([]);
  expect(h.hooks.handles?.("message.received")).toBe(false);
});
