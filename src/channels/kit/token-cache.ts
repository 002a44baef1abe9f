/**
 * The shared access-token cache for platforms with app tokens (Feishu tenant_access_token,
 * DingTalk accessToken, WeCom access_token, QQ AppAccessToken). One cache per app credential:
 * - a token is refreshed ahead of its expiry (`refreshAheadMs`) in the background, callers
 *   keep getting the old token meanwhile, and while a refresh fails the old token is used as
 *   long as it has not really expired; only an expired (or no) token makes callers wait;
 * - at most one refresh is in flight: concurrent callers share it;
 * - a failed refresh is not repeated for `failureCooldownMs` (a broken token endpoint is not
 *   hammered by every send); callers get the same error meanwhile;
 * - `withToken(fn)` runs `fn` with a token and, when it fails with an auth error, drops that
 *   token and runs `fn` once more with a fresh one (a token revoked or expired early).
 */
import { type Clock, systemClock } from "./clock.ts";
import { ChannelError } from "./errors.ts";

export interface FetchedToken {
  token: string;
  /** Lifetime from now, in ms (platforms answer seconds: multiply). */
  expiresInMs: number;
}

export interface TokenCacheOptions {
  /** Channel name, for errors. */
  channel: string;
  /** Ask the platform for a new token. Throw a ChannelError on failure. */
  fetchToken: (signal?: AbortSignal) => Promise<FetchedToken>;
  clock?: Clock;
  /** Refresh when less than this is left. Default 5 min (clamped to half the lifetime). */
  refreshAheadMs?: number;
  /** After a failed refresh, wait this long before asking again. Default 1 s. */
  failureCooldownMs?: number;
}

export interface TokenCache {
  /** A valid token: the cached one, or a fresh one (one refresh in flight at a time). */
  get(signal?: AbortSignal): Promise<string>;
  /** Forget `token` (or whatever is cached): the next get() fetches a new one. */
  invalidate(token?: string): void;
  /** Run `fn` with a token; on an auth error drop the token and run `fn` once more. */
  withToken<T>(fn: (token: string) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Refreshes done so far (tests, metrics). */
  readonly refreshes: number;
}

interface Cached {
  token: string;
  /** Epoch ms the platform stops accepting it. */
  expiresAt: number;
  /** Epoch ms from which a refresh is due. */
  refreshAt: number;
}

export function createTokenCache(options: TokenCacheOptions): TokenCache {
  const clock = options.clock ?? systemClock;
  const ahead = options.refreshAheadMs ?? 5 * 60_000;
  const cooldown = options.failureCooldownMs ?? 1_000;
  let cached: Cached | undefined;
  let inFlight: Promise<string> | undefined;
  let failure: { at: number; error: unknown } | undefined;
  let refreshes = 0;

  async function fetchFresh(signal?: AbortSignal): Promise<string> {
    refreshes++;
    const got = await options.fetchToken(signal);
    const valid =
      got &&
      typeof got.token === "string" &&
      got.token.length > 0 &&
      typeof got.expiresInMs === "number" &&
      Number.isFinite(got.expiresInMs) &&
      got.expiresInMs > 0;
    if (!valid)
      throw new ChannelError(
        options.channel,
        "network",
        `${options.channel} token endpoint answered without a usable token and lifetime`,
      );
    const now = clock.now();
    const lead = Math.min(ahead, got.expiresInMs / 2);
    cached = { token: got.token, expiresAt: now + got.expiresInMs, refreshAt: now + got.expiresInMs - lead };
    failure = undefined;
    return got.token;
  }

  function refresh(signal?: AbortSignal): Promise<string> {
    if (inFlight) return inFlight;
    inFlight = fetchFresh(signal)
      .catch((err) => {
        failure = { at: clock.now(), error: err };
        throw err;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  async function get(signal?: AbortSignal): Promise<string> {
    const now = clock.now();
    if (cached && now < cached.refreshAt) return cached.token;
    const coolingDown = failure !== undefined && now - failure.at < cooldown;
    if (cached && now < cached.expiresAt) {
      // Due for refresh but still valid: refresh in the background (one at a time), answer now.
      if (!coolingDown) refresh().catch(() => {});
      return cached.token;
    }
    if (coolingDown) throw failure!.error;
    return refresh(signal);
  }

  function invalidate(token?: string) {
    if (!cached) return;
    if (token === undefined || cached.token === token) cached = undefined;
  }

  return {
    get,
    invalidate,
    async withToken(fn, signal) {
      const token = await get(signal);
      try {
        return await fn(token);
      } catch (err) {
        if (!(err instanceof ChannelError) || err.kind !== "auth") throw err;
        invalidate(token);
        failure = undefined;
        // Another caller may have refreshed already; get() then reuses its token.
        return fn(await get(signal));
      }
    },
    get refreshes() {
      return refreshes;
    },
  };
}

/** Caches shared by key (e.g. "feishu:<appId>"), so every user of one app credential shares a token. */
export interface TokenCaches {
  get(key: string, options: TokenCacheOptions): TokenCache;
}

export function createTokenCaches(): TokenCaches {
  const caches = new Map<string, TokenCache>();
  return {
    get(key, options) {
      let cache = caches.get(key);
      if (!cache) {
        cache = createTokenCache(options);
        caches.set(key, cache);
      }
      return cache;
    },
  };
}
