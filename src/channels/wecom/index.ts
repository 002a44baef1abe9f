/**
 * WeCom / WeChat Work (AI-bot long connection, or a self-built app's callback + message API).
 * The definition only: the adapter (`channel.ts`) is imported when the channel is enabled.
 * Set-up and config keys: docs/channels/wecom.md.
 *
 * Chats: `wecom:group:<chatid>` (AI-bot group chats) and `wecom:user:<userid>` (1:1).
 * `ngb doctor` subscribes once with the bot id + secret (aibot) or asks for an app token (app).
 */
import * as v from "valibot";
import { ConfigUrl, defineChannel } from "../kit/define.ts";

const WsUrl = v.pipe(v.string(), v.regex(/^wss?:\/\/\S+$/, "must be a WebSocket URL like wss://host"));

export const wecom = defineChannel({
  name: "wecom",
  title: "WeCom (WeChat Work)",
  jidPrefix: "wecom:",
  configSchema: v.strictObject({
    /** aibot = AI-bot long connection (groups + 1:1, no public URL); app = self-built app callback. */
    mode: v.optional(v.picklist(["aibot", "app"]), "aibot"),
    /** AI-bot long-connection URL. */
    wsUrl: v.optional(WsUrl, "wss://openws.work.weixin.qq.com"),
    /** AI bot: Bot ID from the admin console. */
    botId: v.optional(v.string()),
    /** AI bot: Secret from the admin console. */
    botSecret: v.optional(v.string()),
    /** AI bot: its display name, so a leading "@name" in groups is recognised exactly. */
    botName: v.optional(v.string()),
    /** Text shown in the reply stream while the agent works ("" = none). */
    workingText: v.optional(v.pipe(v.string(), v.maxLength(200)), "…"),
    /** App mode: API host (gettoken, message/send). */
    apiBaseUrl: v.optional(ConfigUrl, "https://qyapi.weixin.qq.com"),
    corpId: v.optional(v.string()),
    corpSecret: v.optional(v.string()),
    agentId: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    /** App mode: the callback's Token. */
    token: v.optional(v.string()),
    /** App mode: the callback's EncodingAESKey (43 characters). */
    encodingAesKey: v.optional(v.string()),
    webhookPath: v.optional(v.pipe(v.string(), v.startsWith("/", "must start with /")), "/hooks/wecom"),
  }),
  secretKeys: ["botSecret", "corpSecret", "token", "encodingAesKey"],
  envAliases: {
    NGB_WECOM_BOT_ID: "botId",
    NGB_WECOM_BOT_SECRET: "botSecret",
    NGB_WECOM_CORP_SECRET: "corpSecret",
  },
  async create(ctx) {
    const { createWecomChannel } = await import("./channel.ts");
    const { enabled: _enabled, ...config } = ctx.config;
    return createWecomChannel({
      config,
      assistantName: ctx.assistantName,
      log: ctx.log,
      fetch: ctx.fetch,
      clock: ctx.clock,
      tokens: ctx.tokens,
      onRejected: ctx.rejected,
    });
  },
});
