/**
 * A minimal typed Telegram Bot API client over an injected `fetch`: one `call(method, params)`
 * typed by `@grammyjs/types`, which separates "Telegram said no" (TelegramApiError, with
 * 409 Conflict and 429 flood control as their own classes) from "the network failed"
 * (TelegramNetworkError). The bot token is part of every URL, so it is scrubbed from every
 * message this module produces.
 */
import type { ApiMethods, ApiResponse } from "@grammyjs/types";
import { RateLimitedError, secondsToMs } from "../kit/backoff.ts";
import { ChannelError, type ChannelErrorKind } from "../kit/errors.ts";

type Methods = ApiMethods<never>;
export type TelegramMethod = keyof Methods;
export type TelegramParams<M extends TelegramMethod> = Parameters<Methods[M]>[0];
export type TelegramResult<M extends TelegramMethod> = ReturnType<Methods[M]>;

/**
 * Telegram answered `ok: false`: a refusal (permanent), except a server error (5xx) which is
 * worth another try.
 */
export class TelegramApiError extends ChannelError {
  override name = "TelegramApiError";
  constructor(
    readonly method: string,
    readonly errorCode: number,
    readonly description: string,
    /** Set when a group was upgraded to a supergroup: the chat's new id. */
    readonly migrateToChatId?: number,
    kind: ChannelErrorKind = errorCode >= 500 ? "network" : "refused",
  ) {
    super("telegram", kind, `telegram ${method} failed: ${errorCode} ${description}`);
  }
}

/** 409: another getUpdates poller, or a webhook, is active for this token. */
export class TelegramConflictError extends TelegramApiError {
  override name = "TelegramConflictError";
  /** "terminated by other getUpdates request": another poller (often our own previous process). */
  get byOtherPoller(): boolean {
    return /terminated by other getUpdates/i.test(this.description);
  }
}

/** 401 / 404 on the bot path: the token is wrong or revoked. */
export class TelegramAuthError extends TelegramApiError {
  override name = "TelegramAuthError";
  constructor(method: string, errorCode: number, description: string) {
    super(method, errorCode, description, undefined, "auth");
    this.message = `telegram rejected the bot token (${errorCode} ${description}); check channels.telegram.botToken (NGB_CHANNELS_TELEGRAM_BOT_TOKEN)`;
  }
}

/** The request did not get a usable answer (connection refused/reset, timeout, bad JSON). */
export class TelegramNetworkError extends ChannelError {
  override name = "TelegramNetworkError";
  constructor(
    readonly method: string,
    message: string,
    cause?: unknown,
    secrets: readonly string[] = [],
  ) {
    super("telegram", "network", `telegram ${method}: network error: ${message}`, { cause, secrets });
  }
}

export interface TelegramApiOptions {
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  /** Per-request timeout in ms, on top of any long-poll timeout passed per call. Default 15 s. */
  timeoutMs?: number;
}

export interface TelegramApi {
  call<M extends TelegramMethod>(
    method: M,
    params?: TelegramParams<M>,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<TelegramResult<M>>;
}

export function createTelegramApi(options: TelegramApiOptions): TelegramApi {
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/+$/, "");
  const token = options.token;
  const scrub = (s: string) => (token ? s.split(token).join("<token>") : s);

  return {
    async call(method, params, callOptions = {}) {
      const timeout = AbortSignal.timeout(callOptions.timeoutMs ?? options.timeoutMs ?? 15_000);
      const signal = callOptions.signal ? AbortSignal.any([callOptions.signal, timeout]) : timeout;
      let res: Response;
      let body: ApiResponse<unknown>;
      try {
        res = await doFetch(`${base}/bot${token}/${method}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(params ?? {}),
          signal,
        });
      } catch (err) {
        const reason = timeout.aborted ? "timed out" : scrub((err as Error)?.message ?? String(err));
        throw new TelegramNetworkError(method, reason, err, [token]);
      }
      try {
        body = (await res.json()) as ApiResponse<unknown>;
      } catch (err) {
        const reason = timeout.aborted
          ? "timed out"
          : `HTTP ${res.status}, unreadable body (${scrub((err as Error)?.message ?? String(err))})`;
        throw new TelegramNetworkError(method, reason);
      }
      if (!body || typeof body !== "object" || typeof body.ok !== "boolean") {
        throw new TelegramNetworkError(method, `HTTP ${res.status}, not a Bot API answer`);
      }
      if (body.ok) return body.result as TelegramResult<typeof method>;
      const code = typeof body.error_code === "number" ? body.error_code : res.status;
      const description = scrub(String(body.description ?? "no description"));
      if (code === 429) {
        throw new RateLimitedError(
          "telegram",
          secondsToMs(body.parameters?.retry_after) ?? 1_000,
          `${method}: ${description}`,
        );
      }
      if (code === 409) throw new TelegramConflictError(method, code, description);
      if (code === 401 || (code === 404 && method === "getMe")) {
        throw new TelegramAuthError(method, code, description);
      }
      const migrate = body.parameters?.migrate_to_chat_id;
      throw new TelegramApiError(
        method,
        code,
        description,
        typeof migrate === "number" ? migrate : undefined,
      );
    },
  };
}
