/**
 * Reconnect / retry pacing shared by the platform adapters: exponential backoff with full
 * jitter, a rate-limit error carrying the platform's retry-after, and a cancellable sleep so a
 * `disconnect()` never waits out a long back-off.
 */
import { ChannelError } from "./errors.ts";

export interface BackoffOptions {
  /** First delay in ms (before jitter). Default 1,000. */
  initialMs?: number;
  /** Upper bound in ms. Default 60,000. */
  maxMs?: number;
  /** Growth factor per failure. Default 2. */
  factor?: number;
  /** Fraction of the delay that is randomized (0 = none, 1 = full jitter). Default 0.5. */
  jitter?: number;
  /** Random source in [0, 1) (tests pass a fixed one). */
  random?: () => number;
}

export interface Backoff {
  /** Delay for the next attempt, in ms; grows with each call until `reset()`. */
  next(): number;
  /** Call after a success. */
  reset(): void;
  /** Failures since the last reset. */
  readonly attempts: number;
}

export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initial = options.initialMs ?? 1_000;
  const max = options.maxMs ?? 60_000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const random = options.random ?? Math.random;
  let attempts = 0;
  return {
    next() {
      const base = Math.min(max, initial * factor ** attempts);
      attempts++;
      // Keep (1 - jitter) of the delay fixed, randomize the rest: spreads reconnect storms
      // while guaranteeing a minimum pause.
      return Math.round(base * (1 - jitter) + base * jitter * random());
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}

/** The platform answered "too many requests"; wait `retryAfterMs` before trying again. */
export class RateLimitedError extends ChannelError {
  override name = "RateLimitedError";
  declare readonly retryAfterMs: number;
  constructor(platform: string, retryAfterMs: number, detail?: string) {
    super(
      platform,
      "rate_limited",
      `${platform} rate limit: retry after ${Math.ceil(retryAfterMs / 1000)} s${detail ? ` (${detail})` : ""}`,
      { retryAfterMs },
    );
  }
  /** The channel that answered (older name of `channel`). */
  get platform(): string {
    return this.channel;
  }
}

/**
 * Retry-after in ms from an HTTP response's headers: `Retry-After` (seconds or HTTP date),
 * or Discord's `X-RateLimit-Reset-After` (seconds, fractional). Undefined when absent.
 */
export function retryAfterFromHeaders(headers: Headers, now: number = Date.now()): number | undefined {
  const reset = headers.get("x-ratelimit-reset-after");
  if (reset !== null && reset.trim() !== "" && Number.isFinite(Number(reset))) {
    return Math.max(0, Math.ceil(Number(reset) * 1000));
  }
  const value = headers.get("retry-after");
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds * 1000));
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, date - now);
  return undefined;
}

/** Seconds (as platforms send them in JSON bodies) to ms, or undefined if not a usable number. */
export function secondsToMs(value: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return undefined;
  return Math.ceil(value * 1000);
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export interface RetryOptions {
  /** Give up after this many rate-limit waits. Default 5. */
  maxRetries?: number;
  /** Never wait longer than this for one retry-after; longer waits rethrow. Default 5 min. */
  maxWaitMs?: number;
  signal?: AbortSignal;
  /** Called before each wait (for logging). */
  onWait?: (err: RateLimitedError, attempt: number) => void;
}

/**
 * Run `fn`, and when it throws `RateLimitedError` wait the platform's retry-after and try
 * again (up to `maxRetries`). Other errors propagate at once.
 */
export async function withRateLimitRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxRetries = options.maxRetries ?? 5;
  const maxWait = options.maxWaitMs ?? 5 * 60_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof RateLimitedError) || attempt >= maxRetries || err.retryAfterMs > maxWait)
        throw err;
      if (options.signal?.aborted) throw err;
      options.onWait?.(err, attempt + 1);
      await sleep(err.retryAfterMs, options.signal);
    }
  }
}
