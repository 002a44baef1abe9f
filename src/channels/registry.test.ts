import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { Config, ConfigError, loadConfig, redact, SECRET_KEYS } from "../config/index.ts";
import { configJsonSchema } from "../config/json-schema.ts";
import { silentLogger } from "../log/index.ts";
import {
  CHANNEL_DEFINITIONS,
  ChannelError,
  channelDefinition,
  createChannel,
  createEnabledChannels,
  definitionForJid,
  enabledChannelNames,
} from "./index.ts";

function load(file: Record<string, unknown>, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "ngb-registry-"));
  try {
    writeFileSync(join(dir, "ngb.config.json"), JSON.stringify(file));
    return loadConfig({ cwd: dir, env, noDotenv: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the channel registry composes the config", () => {
  test("every definition has a section, disabled by default, with its defaults", () => {
    const config = v.parse(Config, {});
    const sections = config.channels as unknown as Record<string, { enabled: boolean }>;
    for (const d of CHANNEL_DEFINITIONS) expect(sections[d.name]?.enabled).toBe(false);
    expect(config.channels.telegram.apiBaseUrl).toBe("https://api.telegram.org");
    expect(config.channels.web.enabled).toBe(true);
    expect(Object.keys(sections).sort()).toEqual(["web", ...CHANNEL_DEFINITIONS.map((d) => d.name)].sort());
  });

  test("secrets come from the definitions and are redacted", () => {
    for (const d of CHANNEL_DEFINITIONS)
      for (const key of d.secretKeys) expect(SECRET_KEYS.has(`channels.${d.name}.${key}`)).toBe(true);
    const { config } = load({ channels: { slack: { botToken: "xoxb-secret", appToken: "xapp-secret" } } });
    const shown = JSON.stringify(redact(config));
    expect(shown).not.toContain("xoxb-secret");
    expect(shown).not.toContain("xapp-secret");
  });

  test("env aliases come from the definitions", () => {
    const { config, sources } = load(
      {},
      { NGB_TELEGRAM_BOT_TOKEN: "123:abc", NGB_SLACK_APP_TOKEN: "xapp-1" },
    );
    expect(config.channels.telegram.botToken).toBe("123:abc");
    expect(config.channels.slack.appToken).toBe("xapp-1");
    expect(sources["channels.telegram.botToken"]).toContain("NGB_TELEGRAM_BOT_TOKEN");
  });

  test("a section for a channel this build does not have is a start-up error naming it", () => {
    let err: unknown;
    try {
      load({ channels: { matrix: { enabled: true } } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('no channel named "matrix"');
    expect((err as Error).message).toContain("telegram");
  });

  test("an environment variable for a channel this build does not have is refused by name", () => {
    expect(() => load({}, { NGB_CHANNELS_MATRIX_ENABLED: "true" })).toThrow('no channel named "matrix"');
    expect(() =>
      load({}, { NGB_CHANNELS_TELEGRAM_ENABLED: "false", NGB_CHANNELS_WEB_ENABLED: "true" }),
    ).not.toThrow();
  });

  test("an enabled section with no definition (a config built by hand) is refused by name", () => {
    const config = v.parse(Config, {});
    (config.channels as unknown as Record<string, unknown>).irc = { enabled: true };
    expect(() => enabledChannelNames(config)).toThrow('no channel named "irc"');
  });

  test("the JSON schema of the config lists every channel", () => {
    const channels = (
      configJsonSchema().properties as Record<string, { properties?: Record<string, unknown> }>
    ).channels;
    for (const d of CHANNEL_DEFINITIONS) expect(channels?.properties?.[d.name]).toBeDefined();
  });
});

describe("building channels from definitions", () => {
  test("only enabled channels are built, each by its own definition", async () => {
    const config = v.parse(Config, {
      channels: { telegram: { enabled: true, botToken: "1:a" }, slack: { enabled: false } },
    });
    expect(enabledChannelNames(config)).toEqual(["telegram"]);
    const channels = await createEnabledChannels({ config, log: silentLogger() });
    expect(channels.map((c) => c.name)).toEqual(["telegram"]);
    expect(channels[0]!.ownsJid("tg:42")).toBe(true);
  });

  test("jids map to their definitions", () => {
    expect(definitionForJid("tg:1")?.name).toBe("telegram");
    expect(definitionForJid("dc:1")?.name).toBe("discord");
    expect(definitionForJid("slack:C1")?.name).toBe("slack");
    expect(definitionForJid("1555@s.whatsapp.net")?.name).toBe("whatsapp");
    expect(definitionForJid("web:default")).toBeUndefined();
  });

  test("webhook routes a factory adds are handed to the web server", async () => {
    const config = v.parse(Config, {});
    const mounted: string[] = [];
    const served: import("hono").Hono[] = [];
    const def = {
      ...channelDefinition("telegram")!,
      name: "telegram",
      create: (ctx: { webhooks: import("hono").Hono }) => {
        ctx.webhooks.post("/hooks/demo", (c) => c.text("ok"));
        return {
          name: "telegram",
          ownsJid: () => false,
          connect: async () => {},
          disconnect: async () => {},
          send: async () => {},
          health: () => ({ name: "telegram", state: "disconnected" as const }),
        };
      },
    };
    await createChannel(def as never, {
      config,
      log: silentLogger(),
      mountWebhooks: (routes, name) => {
        mounted.push(name);
        served.push(routes);
      },
    });
    expect(mounted).toEqual(["telegram"]);
    const res = await served[0]!.fetch(new Request("http://h/hooks/demo", { method: "POST" }));
    expect(await res.text()).toBe("ok");
  });

  test("a factory that builds the wrong channel is refused", async () => {
    const config = v.parse(Config, {});
    const def = { ...channelDefinition("slack")!, create: () => ({ name: "other" }) };
    await expect(createChannel(def as never, { config, log: silentLogger() })).rejects.toBeInstanceOf(
      ChannelError,
    );
  });
});
