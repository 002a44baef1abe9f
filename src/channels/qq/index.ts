/**
 * QQ (official bot API v2: webhook or WebSocket gateway). The definition only: the adapter
 * (`channel.ts`) is imported when the channel is enabled. Set-up: docs/channels/qq.md.
 *
 * Chats: `qq:group:<group_openid>`, `qq:c2c:<user_openid>`, `qq:channel:<channel_id>`,
 * `qq:dm:<guild_id>`. QQ accepts only replies to a user's message within a window (C2C 60 min,
 * groups and guilds 5 min; ≤ 5 per message): the definition says it cannot send proactively, so
 * scheduled tasks for QQ chats are refused when created.
 */
import * as v from "valibot";
import { ConfigUrl, defineChannel } from "../kit/define.ts";

export const qq = defineChannel({
  name: "qq",
  title: "QQ",
  jidPrefix: "qq:",
  canSendProactively: false,
  proactiveRefusal:
    "QQ refuses messages a user did not ask for (since 2025-04-21 a bot may only reply to a user's message: within 60 min in private chats, 5 min in groups and guilds, at most 5 replies per message), so a scheduled task cannot post to a QQ chat",
  configSchema: v.strictObject({
    /** webhook = QQ pushes signed events to webhookPath (needs a public HTTPS URL); gateway = legacy WebSocket. */
    mode: v.optional(v.picklist(["webhook", "gateway"]), "webhook"),
    appId: v.optional(v.string()),
    appSecret: v.optional(v.string()),
    /** OpenAPI host (sandbox: https://sandbox.api.sgroup.qq.com). */
    apiBaseUrl: v.optional(ConfigUrl, "https://api.sgroup.qq.com"),
    tokenUrl: v.optional(ConfigUrl, "https://bots.qq.com/app/getAppAccessToken"),
    webhookPath: v.optional(v.pipe(v.string(), v.startsWith("/", "must start with /")), "/hooks/qq"),
    /** Gateway intents: groups + C2C (1<<25), guild @-messages (1<<30), guild DMs (1<<12). */
    intents: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), (1 << 25) | (1 << 30) | (1 << 12)),
    /** Replies as markdown (msg_type 2): needs QQ's markdown permission for passive replies. */
    markdown: v.optional(v.boolean(), false),
  }),
  secretKeys: ["appSecret"],
  envAliases: { NGB_QQ_APP_ID: "appId", NGB_QQ_APP_SECRET: "appSecret" },
  async create(ctx) {
    const { createQqChannel } = await import("./channel.ts");
    const { enabled: _enabled, ...config } = ctx.config;
    return createQqChannel({
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
