/** Slack channel (Socket Mode + Web API): public surface. */
export type { SlackChannelOptions } from "./slack.ts";
export { createSlackChannel, SLACK_TEXT_LIMIT, SlackConfigError } from "./slack.ts";
export { SlackLinkDisabledError } from "./socket-mode.ts";
export { SlackApiError, SlackNetworkError } from "./web-api.ts";
