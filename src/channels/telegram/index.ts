/** Telegram channel: public surface. */
export {
  createTelegramApi,
  TelegramApiError,
  TelegramAuthError,
  TelegramConflictError,
  TelegramNetworkError,
} from "./api.ts";
export {
  ALLOWED_UPDATES,
  createTelegramChannel,
  type TelegramChannel,
  type TelegramChannelOptions,
  type TelegramConfig,
  TelegramConfigError,
} from "./channel.ts";
export { type BotIdentity, mapUpdate, TgUpdate } from "./map.ts";
