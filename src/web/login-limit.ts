/**
 * Throttling of failed logins, per source address. Callers check the presented token FIRST: a
 * valid token always gets in, so this only ever slows down wrong guesses and can never lock the
 * owner out. Each address has its own budget (one noisy address blocks only itself), and the
 * table is bounded: when full, the entry seen least recently is forgotten.
 */
export interface LoginLimitOptions {
  /** Failures from one address within `windowMs` before it gets 429 (default 10). */
  maxFailures?: number;
  /** Default 5 minutes. */
  windowMs?: number;
  /** Most addresses tracked at once (default 10,000). */
  maxAddresses?: number;
  now?: () => number;
}

export interface LoginLimit {
  /**
   * Record a failed attempt from `ip`; returns the seconds it must wait when it is now over its
   * budget, else null.
   */
  fail(ip: string): number | null;
  /** Seconds `ip` must still wait before a wrong token is even looked at, or null. */
  blocked(ip: string): number | null;
  /** Forget `ip`'s failures (after it presented the right token). */
  reset(ip: string): void;
  size(): number;
}

interface Entry {
  count: number;
  since: number;
}

export function createLoginLimit(options: LoginLimitOptions = {}): LoginLimit {
  const maxFailures = options.maxFailures ?? 10;
  const windowMs = options.windowMs ?? 5 * 60_000;
  const maxAddresses = options.maxAddresses ?? 10_000;
  const now = options.now ?? Date.now;
  const table = new Map<string, Entry>();

  function current(ip: string, t: number): Entry | undefined {
    const e = table.get(ip);
    if (e && t - e.since >= windowMs) {
      table.delete(ip);
      return undefined;
    }
    return e;
  }

  function blocked(ip: string): number | null {
    const t = now();
    const e = current(ip, t);
    if (!e || e.count < maxFailures) return null;
    return Math.max(1, Math.ceil((e.since + windowMs - t) / 1000));
  }

  return {
    blocked,
    fail(ip) {
      const t = now();
      const e = current(ip, t);
      if (e) {
        e.count++;
        // Re-insert: map order doubles as "least recently seen first" for eviction.
        table.delete(ip);
        table.set(ip, e);
      } else {
        for (const k of table.keys()) {
          if (table.size < maxAddresses) break;
          table.delete(k);
        }
        table.set(ip, { count: 1, since: t });
      }
      return blocked(ip);
    },
    reset(ip) {
      table.delete(ip);
    },
    size: () => table.size,
  };
}
