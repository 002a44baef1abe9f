/**
 * Access-token cache: one refresh in flight at a time, refreshed ahead of expiry, dropped on an
 * auth error so the next call fetches a new one. (Stand-in for the channel kit's shared cache
 * with the same shape; swapped for it when the kit lands.)
 */

export interface IssuedToken {
  token: string;
  /** Lifetime in ms from now. */
  expiresInMs: number;
}

export interface TokenCache {
  /** A valid token, fetching one if none is cached or the cached one is about to expire. */
  get(): Promise<string>;
  /** Forget `token` (or whatever is cached) after the platform refused it. */
  invalidate(token?: string): void;
}

export function createTokenCache(opts: {
  fetchToken: () => Promise<IssuedToken>;
  /** Refresh this long before expiry. Default 3 min (what the official SDK does). */
  refreshAheadMs?: number;
  now?: () => number;
}): TokenCache {
  const ahead = opts.refreshAheadMs ?? 3 * 60_000;
  const now = opts.now ?? Date.now;
  let cached: { token: string; refreshAt: number } | undefined;
  let inflight: Promise<string> | undefined;
  return {
    get() {
      if (cached && now() < cached.refreshAt) return Promise.resolve(cached.token);
      inflight ??= opts
        .fetchToken()
        .then((t) => {
          cached = { token: t.token, refreshAt: now() + Math.max(0, t.expiresInMs - ahead) };
          return t.token;
        })
        .finally(() => {
          inflight = undefined;
        });
      return inflight;
    },
    invalidate(token) {
      if (!token || cached?.token === token) cached = undefined;
    },
  };
}
