/**
 * The channel kit: what every adapter builds on. Definitions (`defineChannel`), the error base
 * (`ChannelError`), the shared access-token cache, the health/status helper, the "this message
 * is ours" rule, chunked sending, back-off and rate limits, typing refresh, text splitting.
 */
export { authorship, type Authorship, createOwnPosts, type OwnPosts } from "./authorship.ts";
export {
  type Backoff,
  type BackoffOptions,
  createBackoff,
  RateLimitedError,
  type RetryOptions,
  retryAfterFromHeaders,
  secondsToMs,
  sleep,
  withRateLimitRetry,
} from "./backoff.ts";
export { MESSAGE_LIMITS, splitMessage } from "./chunk.ts";
export { type Clock, systemClock } from "./clock.ts";
export {
  type AnyChannelDefinition,
  type ChannelConfigSchema,
  type ChannelContext,
  type ChannelDefinition,
  type ChannelSectionConfig,
  ConfigUrl,
  channelSections,
  defineChannel,
  sectionSchema,
} from "./define.ts";
export {
  ChannelError,
  type ChannelErrorKind,
  type ChannelErrorOptions,
  isPermanentChannelError,
  scrubSecrets,
} from "./errors.ts";
export { createHealth, type HealthTracker } from "./health.ts";
export { chunkKey, sendChunks } from "./send.ts";
export {
  createTokenCache,
  createTokenCaches,
  type FetchedToken,
  type TokenCache,
  type TokenCacheOptions,
  type TokenCaches,
} from "./token-cache.ts";
export { createTypingRefresher, type TypingRefresher } from "./typing.ts";
