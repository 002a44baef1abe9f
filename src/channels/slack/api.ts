/**
 * A minimal Slack Web API client over an injected fetch: one `call(method, token, body)` that
 * separates "Slack said no" (`ok:false` → SlackApiError with Slack's error code) from "the
 * network failed" (SlackNetworkError, cause kept) and turns HTTP 429 into RateLimitedError
 * carrying the `Retry-After` header. Tokens never appear in errors or logs.
 */
import { RateLimitedError, retryAfterFromHeaders } from "../kit/backoff.ts";

/** What to tell the operator for the Slack error codes people actually hit. */
const HINTS: Record<string, string> = {
  invalid_auth: "the token is wrong or revoked; check channels.slack.botToken / appToken",
  not_authed: "no token was sent; set channels.slack.botToken and channels.slack.appToken",
  token_revoked: "the token was revoked; reinstall the app and update the config",
  account_inactive: "the app's token belongs to a deactivated workspace or user",
  not_allowed_token_type:
    "wrong token type: apps.connections.open needs the app-level token (xapp-…, scope connections:write)",
  missing_scope: "the app lacks an OAuth scope for this call; add it and reinstall the app",
  not_in_channel: "the bot is not a member of this channel; invite it with /invite @<bot>",
  channel_not_found: "no such channel, or the bot cannot see it",
  is_archived: "the channel is archived",
  msg_too_long: "message text too long",
};

/** Slack answered `ok:false`: the platform refused the request. */
export class SlackApiError extends Error {
  override name = "SlackApiError";
  constructor(
    readonly method: string,
    readonly code: string,
  ) {
    const hint = HINTS[code];
    super(`slack ${method} refused: ${code}${hint ? ` (${hint})` : ""}`);
  }
  /** Credentials are wrong: retrying cannot help. */
  get isAuthError(): boolean {
    return [
      "invalid_auth",
      "not_authed",
      "token_revoked",
      "account_inactive",
      "not_allowed_token_type",
    ].includes(this.code);
  }
}

/** The request never got a usable answer (DNS, connection, timeout, non-JSON, 5xx). */
export class SlackNetworkError extends Error {
  override name = "SlackNetworkError";
  constructor(
    readonly method: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`slack ${method} failed: ${detail}`, options);
  }
}

export interface SlackWebApiOptions {
  /** e.g. https://slack.com/api (no trailing slash needed). */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
}

export type SlackResponse = Record<string, unknown> & { ok: true };

export function createSlackWebApi(options: SlackWebApiOptions) {
  const base = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;

  return {
    /** POST a Web API method with a JSON body; resolves with the `ok:true` body. */
    async call(
      method: string,
      token: string,
      body: Record<string, unknown> = {},
      callOptions: { timeoutMs?: number } = {},
    ): Promise<SlackResponse> {
      let res: Response;
      try {
        res = await doFetch(`${base}/${method}`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json; charset=utf-8",
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(callOptions.timeoutMs ?? timeoutMs),
        });
      } catch (err) {
        throw new SlackNetworkError(method, (err as Error).message ?? String(err), { cause: err });
      }
      if (res.status === 429) {
        await res.body?.cancel();
        throw new RateLimitedError("slack", retryAfterFromHeaders(res.headers) ?? 1_000, method);
      }
      let data: unknown;
      try {
        data = await res.json();
      } catch (err) {
        throw new SlackNetworkError(method, `HTTP ${res.status} with a non-JSON body`, { cause: err });
      }
      if (!data || typeof data !== "object" || !("ok" in data)) {
        throw new SlackNetworkError(method, `HTTP ${res.status} without an "ok" field`);
      }
      const obj = data as Record<string, unknown>;
      if (obj.ok !== true)
        throw new SlackApiError(method, typeof obj.error === "string" ? obj.error : "unknown_error");
      return obj as SlackResponse;
    },
  };
}
export type SlackWebApi = ReturnType<typeof createSlackWebApi>;
