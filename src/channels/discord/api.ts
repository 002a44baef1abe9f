/**
 * A small Discord REST client over an injected `fetch`: `Authorization: Bot <token>`, JSON in
 * and out, 429 turned into `RateLimitedError` (JSON `retry_after`, else headers), and a
 * per-route pause when a bucket reports `X-RateLimit-Remaining: 0` so the next call waits for
 * the reset instead of earning a 429. Errors separate "Discord said no" (DiscordApiError, with
 * 401 as DiscordAuthError) from "the network failed" (DiscordNetworkError); the token never
 * appears in a message.
 */
import { RateLimitedError, retryAfterFromHeaders, secondsToMs, sleep } from "../kit/backoff.ts";
import { ChannelError, type ChannelErrorKind } from "../kit/errors.ts";

/** Discord answered with an error status: a refusal (permanent), except 5xx (transient). */
export class DiscordApiError extends ChannelError {
  override name = "DiscordApiError";
  constructor(
    readonly route: string,
    readonly status: number,
    readonly code: number | undefined,
    readonly description: string,
    kind: ChannelErrorKind = status >= 500 ? "network" : "refused",
  ) {
    super(
      "discord",
      kind,
      `discord ${route} failed: ${status}${code !== undefined ? ` (code ${code})` : ""} ${description}`,
    );
  }
}

export class DiscordAuthError extends DiscordApiError {
  override name = "DiscordAuthError";
  constructor(route: string, status: number, code: number | undefined, description: string) {
    super(route, status, code, description, "auth");
    this.message = `discord rejected the bot token (${status} ${description}); check channels.discord.botToken (NGB_CHANNELS_DISCORD_BOT_TOKEN)`;
  }
}

export class DiscordNetworkError extends ChannelError {
  override name = "DiscordNetworkError";
  constructor(
    readonly route: string,
    message: string,
    cause?: unknown,
    secrets: readonly string[] = [],
  ) {
    super("discord", "network", `discord ${route}: network error: ${message}`, { cause, secrets });
  }
}

export interface DiscordRestOptions {
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface DiscordRest {
  request<T = unknown>(
    method: "GET" | "POST" | "PATCH" | "DELETE" | "PUT",
    path: string,
    body?: unknown,
    options?: { signal?: AbortSignal },
  ): Promise<T>;
}

/** Route key for bucket tracking: channel / guild ids stay (major parameters), minor ids don't. */
function routeKey(method: string, path: string): string {
  return `${method} ${path.replace(/\?.*$/, "").replace(/\/(messages|members|users)\/\d+/g, "/$1/:id")}`;
}

export function createDiscordRest(options: DiscordRestOptions): DiscordRest {
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/+$/, "");
  const token = options.token;
  const scrub = (s: string) => (token ? s.split(token).join("<token>") : s);
  const pausedUntil = new Map<string, number>();

  return {
    async request<T>(
      method: "GET" | "POST" | "PATCH" | "DELETE" | "PUT",
      path: string,
      body?: unknown,
      callOptions: { signal?: AbortSignal } = {},
    ): Promise<T> {
      const route = `${method} ${path}`;
      const key = routeKey(method, path);
      const wait = (pausedUntil.get(key) ?? 0) - Date.now();
      if (wait > 0) await sleep(wait, callOptions.signal);
      const timeout = AbortSignal.timeout(options.timeoutMs ?? 15_000);
      const signal = callOptions.signal ? AbortSignal.any([callOptions.signal, timeout]) : timeout;
      let res: Response;
      try {
        res = await doFetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bot ${token}`,
            "user-agent": "DiscordBot (https://github.com/nanogridbot/ngb, 0.1)",
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
          },
          body: body !== undefined ? JSON.stringify(body) : undefined,
          signal,
        });
      } catch (err) {
        throw new DiscordNetworkError(
          route,
          timeout.aborted ? "timed out" : scrub((err as Error)?.message ?? String(err)),
          err,
          [token],
        );
      }
      if (res.headers.get("x-ratelimit-remaining") === "0") {
        const resetMs = retryAfterFromHeaders(res.headers);
        if (resetMs !== undefined) pausedUntil.set(key, Date.now() + resetMs);
      }
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        throw new DiscordNetworkError(
          route,
          `HTTP ${res.status}, body lost (${scrub((err as Error)?.message ?? "")})`,
        );
      }
      let json: unknown;
      try {
        json = text.length > 0 ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (res.ok) return json as T;
      const obj = (json && typeof json === "object" ? json : {}) as {
        message?: unknown;
        code?: unknown;
        retry_after?: unknown;
        global?: unknown;
      };
      const description = scrub(typeof obj.message === "string" ? obj.message : `HTTP ${res.status}`);
      const code = typeof obj.code === "number" ? obj.code : undefined;
      if (res.status === 429) {
        const ms = secondsToMs(obj.retry_after) ?? retryAfterFromHeaders(res.headers) ?? 1_000;
        throw new RateLimitedError("discord", ms, `${route}${obj.global === true ? " (global)" : ""}`);
      }
      if (res.status === 401) throw new DiscordAuthError(route, res.status, code, description);
      throw new DiscordApiError(route, res.status, code, description);
    },
  };
}
