/**
 * Feishu / Lark (long connection or HTTP event subscription + Open API). The definition only:
 * the adapter (`channel.ts`) is imported when the channel is enabled. Set-up: docs/channels/feishu.md.
 *
 * One prefix for both platforms: chats are `feishu:<chat_id>` (groups and 1:1 chats; `feishu:ou_…`
 * sends to a user by open_id); `region` picks open.feishu.cn or open.larksuite.com.
 */
import * as v from "valibot";
import { ConfigUrl, defineChannel } from "../kit/define.ts";

export const feishu = defineChannel({
  name: "feishu",
  title: "Feishu / Lark",
  jidPrefix: "feishu:",
  configSchema: v.strictObject({
    /** feishu = open.feishu.cn (China); lark = open.larksuite.com (international). */
    region: v.optional(v.picklist(["feishu", "lark"]), "feishu"),
    /** Overrides the region's base URL (a proxy; tests point it at a fake). */
    baseUrl: v.optional(ConfigUrl),
    appId: v.optional(
      v.pipe(v.string(), v.regex(/^cli_\w+$/, "must be an app id like cli_a1b2c3d4e5f60718")),
    ),
    appSecret: v.optional(v.string()),
    /** websocket = long connection (no public URL needed); webhook = HTTP event subscription. */
    mode: v.optional(v.picklist(["websocket", "webhook"]), "websocket"),
    /** Event subscription's Verification Token (webhook mode). */
    verificationToken: v.optional(v.string()),
    /** Event subscription's Encrypt Key (webhook mode; recommended). */
    encryptKey: v.optional(v.string()),
    webhookPath: v.optional(v.pipe(v.string(), v.startsWith("/", "must start with /")), "/hooks/feishu"),
    /** auto = Markdown replies as rich text (plain-text fallback); text = always plain text. */
    format: v.optional(v.picklist(["auto", "text"]), "auto"),
    /** Reaction (emoji_type) on the message being answered while the agent works; "" = none. */
    workingReaction: v.optional(v.string(), "Typing"),
    /** Quote the answered message (reply API) outside threads: in groups only, always, or never. */
    quoteReplies: v.optional(v.picklist(["groups", "always", "never"]), "groups"),
  }),
  secretKeys: ["appSecret", "verificationToken", "encryptKey"],
  envAliases: { NGB_FEISHU_APP_ID: "appId", NGB_FEISHU_APP_SECRET: "appSecret" },
  async create(ctx) {
    const { createFeishuChannel } = await import("./channel.ts");
    const { enabled: _enabled, ...config } = ctx.config;
    return createFeishuChannel({
      config,
      assistantName: ctx.assistantName,
      log: ctx.log,
      fetch: ctx.fetch,
      tokens: ctx.tokens,
      ...(ctx.rejected ? { onRejected: ctx.rejected } : {}),
    });
  },
});
