/**
 * Slack (Socket Mode + Web API). The definition only: the adapter (`channel.ts`) is imported
 * when the channel is enabled.
 *
 * Slack app set-up (api.slack.com/apps → your app):
 * - Socket Mode: on. App-level token with `connections:write` → `channels.slack.appToken` (xapp-…).
 * - OAuth bot scopes: `chat:write`, `app_mentions:read`, `channels:history`, `groups:history`,
 *   `im:history`, `mpim:history`, `users:read` (sender names; optional). Install, then the bot
 *   token → `channels.slack.botToken` (xoxb-…).
 * - Event subscriptions (bot events): `message.channels`, `message.groups`, `message.im`,
 *   `message.mpim`, `app_mention`, `member_joined_channel`.
 * - Invite the bot to a channel (`/invite @bot`); it appears in `ngb groups list --discovered`
 *   as `slack:<channel id>`; `ngb doctor` runs auth.test and opens a Socket Mode URL.
 * Replies to a top-level channel message go in a thread under it (`replyInThread`, default
 * true; DMs at top level; `threadChannels` per channel id).
 */
import * as v from "valibot";
import { ConfigUrl as Url, defineChannel } from "../kit/define.ts";

export const slack = defineChannel({
  name: "slack",
  title: "Slack",
  jidPrefix: "slack:",
  configSchema: v.strictObject({
    apiBaseUrl: v.optional(Url, "https://slack.com/api"),
    botToken: v.optional(v.string()),
    appToken: v.optional(v.string()),
    /**
     * Post a reply to a top-level message in a thread under it (in channels; DMs at top level).
     * A message already inside a thread is always answered in its thread.
     */
    replyInThread: v.optional(v.boolean(), true),
    /** Per Slack channel id, thread replies (true) or not (false): overrides replyInThread. */
    threadChannels: v.optional(
      v.record(
        v.pipe(v.string(), v.regex(/^[CGD][A-Z0-9]{2,}$/, "must be a Slack channel id like C0123ABC")),
        v.boolean(),
      ),
      {},
    ),
  }),
  secretKeys: ["botToken", "appToken"],
  envAliases: { NGB_SLACK_BOT_TOKEN: "botToken", NGB_SLACK_APP_TOKEN: "appToken" },
  async create(ctx) {
    const { createSlackChannel } = await import("./channel.ts");
    const c = ctx.config;
    return createSlackChannel({
      apiBaseUrl: c.apiBaseUrl,
      ...(c.botToken ? { botToken: c.botToken } : {}),
      ...(c.appToken ? { appToken: c.appToken } : {}),
      assistantName: ctx.assistantName,
      log: ctx.log,
      fetch: ctx.fetch,
      replyInThread: c.replyInThread,
      threadChannels: c.threadChannels,
    });
  },
});
