/**
 * DingTalk (Stream mode + robot OpenAPI). The definition only: the adapter (`channel.ts`) is
 * imported when the channel is enabled. Set-up and config keys: docs/channels/dingtalk.md.
 *
 * Chats: `dingtalk:group:<openConversationId>` and `dingtalk:user:<staffId>` (an external user
 * without a staff id: `dingtalk:user:<encrypted senderId>`, reachable only by session webhook).
 * `ngb doctor` asks for an access token and opens a Stream connection.
 */
import { join } from "node:path";
import * as v from "valibot";
import { defineChannel } from "../kit/define.ts";

const Url = v.pipe(v.string(), v.url("must be a URL like https://host/path"));

export const dingtalk = defineChannel({
  name: "dingtalk",
  title: "DingTalk",
  jidPrefix: "dingtalk:",
  configSchema: v.strictObject({
    /** OpenAPI host: access token, robot sends. */
    apiBaseUrl: v.optional(Url, "https://api.dingtalk.com"),
    /** Stream gateway host (`/v1.0/gateway/connections/open`); default: apiBaseUrl. */
    gatewayBaseUrl: v.optional(Url),
    /** The app's Client ID (formerly AppKey); also the robotCode of its robot. */
    clientId: v.optional(v.string()),
    /** The app's Client Secret (formerly AppSecret). */
    clientSecret: v.optional(v.string()),
  }),
  secretKeys: ["clientSecret"],
  envAliases: { NGB_DINGTALK_CLIENT_ID: "clientId", NGB_DINGTALK_CLIENT_SECRET: "clientSecret" },
  async create(ctx) {
    const { createDingTalkChannel } = await import("./channel.ts");
    const c = ctx.config;
    return createDingTalkChannel({
      config: {
        apiBaseUrl: c.apiBaseUrl,
        ...(c.gatewayBaseUrl ? { gatewayBaseUrl: c.gatewayBaseUrl } : {}),
        ...(c.clientId ? { clientId: c.clientId } : {}),
        ...(c.clientSecret ? { clientSecret: c.clientSecret } : {}),
      },
      assistantName: ctx.assistantName,
      log: ctx.log,
      fetch: ctx.fetch,
      clock: ctx.clock,
      tokens: ctx.tokens,
      webhookFile: join(ctx.storeDir, "dingtalk-session-webhooks.json"),
    });
  },
});
