/**
 * Slack channel (Socket Mode + Web API): public surface.
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
 */
export type { SlackChannelOptions } from "./slack.ts";
export { createSlackChannel, SLACK_TEXT_LIMIT, SlackConfigError } from "./slack.ts";
export { SlackLinkDisabledError } from "./socket-mode.ts";
export { SlackApiError, SlackNetworkError } from "./web-api.ts";
