/** Discord channel: public surface. */
export {
  createDiscordChannel,
  type DiscordChannel,
  type DiscordChannelOptions,
  type DiscordConfig,
  DiscordConfigError,
} from "./channel.ts";
export { createGateway, DEFAULT_INTENTS, DiscordGatewayError, type Gateway } from "./gateway.ts";
export { type BotUser, DcMessage, toInbound } from "./map.ts";
export { createDiscordRest, DiscordApiError, DiscordAuthError, DiscordNetworkError } from "./rest.ts";
