/**
 * The chat platforms `ngb setup` offers, with the credentials each needs, where to get them,
 * and a check on the spot through the adapter's own `verify()` (the same call `ngb doctor`
 * makes). Channels not listed here are configured in the config file (see docs).
 */
import * as v from "valibot";
import { channelDefinition, createChannel } from "../channels/index.ts";
import { Config } from "../config/index.ts";
import { envNameFor } from "../config/env.ts";
import { silentLogger } from "../log/index.ts";

export interface ChannelField {
  /** Config key under channels.<name>. */
  key: string;
  label: string;
  /** Shape check before any request; returns the problem or null. */
  shape?: RegExp;
  example: string;
}

export interface SetupChannel {
  name: string;
  title: string;
  /** Where the credentials come from (one line). */
  howTo: string;
  fields: ChannelField[];
}

export const SETUP_CHANNELS: SetupChannel[] = [
  {
    name: "telegram",
    title: "Telegram",
    howTo: "talk to @BotFather, /newbot, copy the token",
    fields: [
      { key: "botToken", label: "Bot token", shape: /^\d{5,}:[A-Za-z0-9_-]{30,}$/, example: "123456:ABC-…" },
    ],
  },
  {
    name: "discord",
    title: "Discord",
    howTo: "discord.com/developers → your app → Bot → Reset Token; enable the Message Content intent",
    fields: [{ key: "botToken", label: "Bot token", shape: /^[A-Za-z0-9_.-]{50,}$/, example: "MTIz…" }],
  },
  {
    name: "slack",
    title: "Slack",
    howTo: "api.slack.com/apps → your app: Socket Mode on (app token xapp-…), OAuth bot token xoxb-…",
    fields: [
      { key: "botToken", label: "Bot token", shape: /^xoxb-[A-Za-z0-9-]+$/, example: "xoxb-…" },
      { key: "appToken", label: "App-level token", shape: /^xapp-[A-Za-z0-9-]+$/, example: "xapp-…" },
    ],
  },
  {
    name: "whatsapp",
    title: "WhatsApp",
    howTo: "no token: link ngb as a device by scanning a QR with WhatsApp (Settings → Linked devices)",
    fields: [],
  },
].filter((c) => channelDefinition(c.name) !== undefined);

/** One line naming what is wrong with a credential's shape, or null. */
export function fieldProblem(channel: SetupChannel, field: ChannelField, value: string): string | null {
  if (!value) return `${channel.title} ${field.label.toLowerCase()} is empty: ${channel.howTo}`;
  if (/\s/.test(value))
    return `${channel.title} ${field.label.toLowerCase()} contains whitespace (from copying?): paste it again`;
  if (field.shape && !field.shape.test(value))
    return `this does not look like a ${channel.title} ${field.label.toLowerCase()} (${field.example}): ${channel.howTo}`;
  return null;
}

/** The env variable a channel secret is saved under (read back by the config loader). */
export function secretEnvName(channel: string, key: string): string {
  return envNameFor(`channels.${channel}.${key}`);
}

/** Asks the platform whether the credentials work (the adapter's verify(); no connection kept). */
export async function verifyChannel(
  name: string,
  values: Record<string, string>,
  base: Record<string, unknown> = {},
): Promise<{ ok: boolean; detail: string }> {
  const def = channelDefinition(name);
  if (!def) return { ok: false, detail: `unknown channel ${name}` };
  const config = v.parse(Config, { channels: { [name]: { ...base, enabled: true, ...values } } });
  const channel = await createChannel(def, { config, log: silentLogger() });
  if (!channel.verify) return { ok: true, detail: "no check available" };
  return channel.verify().catch((err: Error) => ({ ok: false, detail: err.message }));
}

/**
 * Links WhatsApp now: connects with the configured auth folder, shows each pairing QR through
 * `showQr` (the terminal), and resolves once the phone has linked (the session stays in
 * `<storeDir>/whatsapp-auth/` for serve) or rejects after `timeoutMs`.
 */
export async function pairWhatsApp(
  config: import("../config/index.ts").Config,
  showQr: (qr: string) => Promise<void>,
  timeoutMs = 180_000,
): Promise<string> {
  const def = channelDefinition("whatsapp");
  if (!def) throw new Error("this ngb has no WhatsApp channel");
  const cfg = v.parse(Config, {
    ...config,
    channels: {
      ...config.channels,
      whatsapp: { ...config.channels.whatsapp, enabled: true, printQr: false },
    },
  });
  const channel = await createChannel(def, { config: cfg, log: silentLogger() });
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not linked within ${Math.round(timeoutMs / 1000)} s`)),
        timeoutMs,
      );
      void channel
        .connect({
          inbound: async () => false,
          discovered: () => undefined,
          status: (u) => {
            if (u.qr && u.state === "connecting") void showQr(u.qr);
            if (u.state === "connected") {
              clearTimeout(timer);
              resolve("linked");
            }
          },
        })
        .catch((err: Error) => {
          clearTimeout(timer);
          reject(err);
        });
    });
  } finally {
    await channel.disconnect().catch(() => undefined);
  }
}
