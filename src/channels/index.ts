/**
 * The channel registry: name → lazy factory. Only enabled channels are imported, so a heavy
 * adapter (baileys for WhatsApp) costs nothing unless it is switched on.
 */
import { join } from "node:path";
import type { Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { Channel } from "../orchestrator/channel.ts";

export interface ChannelDeps {
  config: Config;
  log: Logger;
  fetch?: typeof fetch;
  /** Counts and samples refused webhook calls (src/web/rejections.ts). */
  rejections?: { reject(source: string, reason: string): void };
}

export type ChannelFactory = (deps: ChannelDeps) => Promise<Channel>;

/** Platform adapters by config section name. Each entry imports its module on first use. */
export const CHANNEL_FACTORIES: Record<string, ChannelFactory> = {
  telegram: async ({ config, log, fetch, rejections }) =>
    (await import("./telegram/index.ts")).createTelegramChannel({
      config: config.channels.telegram,
      log,
      fetch,
      ...(rejections ? { onRejected: (reason) => rejections.reject("telegram", reason) } : {}),
    }),
  discord: async ({ config, log, fetch }) =>
    (await import("./discord/index.ts")).createDiscordChannel({
      config: config.channels.discord,
      assistantName: config.assistantName,
      log,
      fetch,
    }),
  slack: async ({ config, log, fetch }) => {
    const { createSlackChannel } = await import("./slack/index.ts");
    const c = config.channels.slack;
    return createSlackChannel({
      apiBaseUrl: c.apiBaseUrl,
      ...(c.botToken ? { botToken: c.botToken } : {}),
      ...(c.appToken ? { appToken: c.appToken } : {}),
      assistantName: config.assistantName,
      log,
      ...(fetch ? { fetch } : {}),
    });
  },
  whatsapp: async ({ config, log }) => {
    const { createWhatsAppChannel } = await import("./whatsapp/index.ts");
    const c = config.channels.whatsapp;
    return createWhatsAppChannel({
      authDir: join(config.storeDir, "whatsapp-auth"),
      assistantName: config.assistantName,
      log,
      printQr: c.printQr,
      ...(c.waWebSocketUrl ? { waWebSocketUrl: c.waWebSocketUrl } : {}),
      ...(c.pairingPhone ? { pairingPhone: c.pairingPhone } : {}),
    });
  },
};

/** Names of the platform channels enabled in the config (the built-in web channel not included). */
export function enabledChannelNames(config: Config): string[] {
  const sections = config.channels as unknown as Record<string, { enabled?: boolean }>;
  return Object.keys(CHANNEL_FACTORIES).filter((name) => sections[name]?.enabled === true);
}

/** Build every enabled platform channel. */
export async function createEnabledChannels(deps: ChannelDeps): Promise<Channel[]> {
  const out: Channel[] = [];
  for (const name of enabledChannelNames(deps.config)) {
    out.push(await CHANNEL_FACTORIES[name]!(deps));
  }
  return out;
}
