/**
 * Telegram (Bot API: long polling or webhook). The definition only: the adapter (`channel.ts`)
 * is imported when the channel is enabled.
 *
 * Set-up: create a bot with @BotFather, put its token in `channels.telegram.botToken`
 * (NGB_TELEGRAM_BOT_TOKEN). In groups, turn the bot's privacy mode off (or make it an admin)
 * to see every message; chats are `tg:<chat id>`.
 */
import * as v from "valibot";
import { ConfigUrl as Url, defineChannel } from "../kit/define.ts";

const NonNegInt = v.pipe(v.number(), v.integer(), v.minValue(0));

export const telegram = defineChannel({
  name: "telegram",
  title: "Telegram",
  jidPrefix: "tg:",
  configSchema: v.strictObject({
    apiBaseUrl: v.optional(Url, "https://api.telegram.org"),
    botToken: v.optional(v.string()),
    mode: v.optional(v.picklist(["polling", "webhook"]), "polling"),
    webhookSecret: v.optional(v.string()),
    webhookPath: v.optional(v.string(), "/hooks/telegram"),
    /** Public base URL Telegram can reach (https://bot.example.com); set → ngb registers the webhook. */
    webhookUrl: v.optional(Url),
    pollTimeoutSec: v.optional(NonNegInt, 30),
    /** Quote the message a reply answers: in groups (default), always, or never. */
    quoteReplies: v.optional(v.picklist(["groups", "always", "never"]), "groups"),
  }),
  secretKeys: ["botToken", "webhookSecret"],
  envAliases: { NGB_TELEGRAM_BOT_TOKEN: "botToken" },
  async create(ctx) {
    const { createTelegramChannel } = await import("./channel.ts");
    return createTelegramChannel({ config: ctx.config, log: ctx.log, fetch: ctx.fetch });
  },
});
