/**
 * A minimal Slack Web API client over an injected fetch: one `call(method, token, args)` that
 * separates "Slack said no" (`ok:false` → SlackApiError with Slack's error code) from "the
 * network failed" (SlackNetworkError, cause kept) and turns HTTP 429 into RateLimitedError
 * carrying the `Retry-After` header. Tokens never appear in errors or logs.
 *
 * Arguments are sent the way Slack documents: JSON bodies only for the write methods that
 * accept them (chat.postMessage…); every other method (users.info, conversations.info,
 * auth.test, apps.connections.open…) gets `application/x-www-form-urlencoded`, because Slack
 * ignores a JSON body there. The token always travels in the Authorization header.
 */
import { RateLimitedError, retryAfterFromHeaders } from "../kit/backoff.ts";
import { ChannelError, type ChannelErrorKind } from "../kit/errors.ts";

/** Web API methods that accept a JSON body (Slack's "methods supporting JSON", the ones we may use). */
export const JSON_METHODS: ReadonlySet<string> = new Set([
  "chat.postMessage",
  "chat.postEphemeral",
  "chat.update",
  "chat.delete",
  "chat.scheduleMessage",
  "chat.meMessage",
  "reactions.add",
  "reactions.remove",
  "views.open",
  "views.publish",
  "views.push",
  "views.update",
]);

/** Form-encode arguments as Slack (and @slack/web-api) does: objects as JSON strings. */
export function formEncode(args: Record<string, unknown>): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined || value === null) continue;
    form.append(key, typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  return form.toString();
}

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

const AUTH_CODES = new Set([
  "invalid_auth",
  "not_authed",
  "token_revoked",
  "token_expired",
  "account_inactive",
  "not_allowed_token_type",
]);
/** Slack's own trouble: worth another try. */
const TRANSIENT_CODES = new Set([
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "ratelimited",
]);

/** Slack answered `ok:false`: the platform refused the request. */
export class SlackApiError extends ChannelError {
  override name = "SlackApiError";
  constructor(
    readonly method: string,
    readonly code: string,
  ) {
    const hint = HINTS[code];
    const kind: ChannelErrorKind = AUTH_CODES.has(code)
      ? "auth"
      : TRANSIENT_CODES.has(code)
        ? "network"
        : "refused";
    super("slack", kind, `slack ${method} refused: ${code}${hint ? ` (${hint})` : ""}`);
  }
  /** Credentials are wrong: retrying cannot help. */
  get isAuthError(): boolean {
    return this.kind === "auth";
  }
}

/** The request never got a usable answer (DNS, connection, timeout, non-JSON, 5xx). */
export class SlackNetworkError extends ChannelError {
  override name = "SlackNetworkError";
  constructor(
    readonly method: string,
    detail: string,
    options?: { cause?: unknown; secrets?: readonly string[] },
  ) {
    super("slack", "network", `slack ${method} failed: ${detail}`, options);
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
    /** POST a Web API method (JSON for write methods, form-encoded otherwise); the `ok:true` body. */
    async call(
      method: string,
      token: string,
      args: Record<string, unknown> = {},
      callOptions: { timeoutMs?: number } = {},
    ): Promise<SlackResponse> {
      const json = JSON_METHODS.has(method);
      let res: Response;
      try {
        res = await doFetch(`${base}/${method}`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": json ? "application/json; charset=utf-8" : "application/x-www-form-urlencoded",
          },
          body: json ? JSON.stringify(args) : formEncode(args),
          signal: AbortSignal.timeout(callOptions.timeoutMs ?? timeoutMs),
        });
      } catch (err) {
        throw new SlackNetworkError(method, (err as Error).message ?? String(err), {
          cause: err,
          secrets: [token],
        });
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
