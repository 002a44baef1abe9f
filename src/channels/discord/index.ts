/**
 * Discord (gateway WebSocket + REST). The definition only: the adapter (`channel.ts`) is
 * imported when the channel is enabled.
 *
 * Set-up: create an application and bot in the developer portal, enable the Message Content
 * intent, invite the bot with the "Send Messages" and "Read Message History" permissions, and
 * put its token in `channels.discord.botToken` (NGB_DISCORD_BOT_TOKEN). Chats are
 * `dc:<channel id>` (a thread is its own channel).
 */
import * as v from "valibot";
import { ConfigUrl as Url, defineChannel } from "../kit/define.ts";

export const discord = defineChannel({
  name: "discord",
  title: "Discord",
  jidPrefix: "dc:",
  configSchema: v.strictObject({
    apiBaseUrl: v.optional(Url, "https://discord.com/api/v10"),
    gatewayUrl: v.optional(v.string(), "wss://gateway.discord.gg"),
    botToken: v.optional(v.string()),
    /** Reference the answered message in a reply (message_reference). */
    replyReference: v.optional(v.boolean(), true),
  }),
  secretKeys: ["botToken"],
  envAliases: { NGB_DISCORD_BOT_TOKEN: "botToken" },
  async create(ctx) {
    const { createDiscordChannel } = await import("./channel.ts");
    return createDiscordChannel({
      config: ctx.config,
      assistantName: ctx.assistantName,
      log: ctx.log,
      fetch: ctx.fetch,
    });
  },
});
