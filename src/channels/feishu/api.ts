/**
 * Feishu/Lark Open API client: tenant access token (cached, refreshed ahead of expiry, dropped
 * and retried once when the platform says it is invalid), bot info, send / reply / reactions,
 * chat info, and the long-connection bootstrap. Every answer is `{code, msg, …}`; a non-zero code
 * becomes a typed error that says whether the platform refused, the credentials are wrong, the
 * caller is rate limited or the network failed. Tokens and secrets never appear in messages.
 */
import { errorMessage } from "../../util/errors.ts";
import {
  ChannelError,
  createTokenCache,
  RateLimitedError,
  type TokenCache,
  type TokenCaches,
} from "../kit/index.ts";

/** The platform answered with a non-zero code (refused the request). */
export class FeishuApiError extends ChannelError {
  override name = "FeishuApiError";
  constructor(
    readonly path: string,
    readonly code: number,
    readonly msg: string,
    readonly httpStatus: number,
  ) {
    super("feishu", "refused", `feishu ${path} failed: code ${code}${msg ? ` (${msg})` : ""}`);
  }
}

/** App id / secret refused, or an access token refused (the token cache retries once). */
export class FeishuAuthError extends ChannelError {
  override name = "FeishuAuthError";
  constructor(message: string) {
    super("feishu", "auth", message);
  }
}

/** The request did not get a usable answer (connection, timeout, 5xx, garbage): worth retrying. */
export class FeishuNetworkError extends ChannelError {
  override name = "FeishuNetworkError";
  constructor(message: string, cause?: unknown) {
    super("feishu", "network", message, cause === undefined ? {} : { cause });
  }
}

/** A rate-limit answer, with Feishu's code (undefined for HTTP 429). */
export class FeishuRateLimitedError extends RateLimitedError {
  override name = "FeishuRateLimitedError";
  constructor(
    retryAfterMs: number,
    readonly code: number | undefined,
    detail: string,
  ) {
    super("feishu", retryAfterMs, detail);
  }
}

/** Codes meaning "this token is not valid": drop it and retry once with a fresh one. */
export const TOKEN_ERROR_CODES = new Set([99991661, 99991663, 99991668, 99991671, 99991677]);
/** Codes meaning "slow down": 99991400 app-level limit; 230020 per-chat send limit (doc table). */
export const RATE_LIMIT_CODES = new Set([99991400, 230020]);

export interface FeishuApiOptions {
  /** Domain root: https://open.feishu.cn or https://open.larksuite.com (or a fake). */
  baseUrl: string;
  appId: string;
  appSecret: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Shared token caches (the kit's); one cache per app id. Default: a private cache. */
  tokens?: TokenCaches;
}

export interface WsEndpoint {
  url: string;
  config: ClientConfig;
}

/** Seconds, as the server sends them; −1 = unlimited. */
export interface ClientConfig {
  PingInterval: number;
  ReconnectCount: number;
  ReconnectInterval: number;
  ReconnectNonce: number;
}

export interface SendBody {
  msg_type: string;
  content: string;
  uuid?: string;
}

export interface FeishuApi {
  readonly baseUrl: string;
  readonly tokens: TokenCache;
  call<T = Record<string, unknown>>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T>;
  botInfo(): Promise<{ openId: string; name?: string }>;
  send(receiveIdType: string, receiveId: string, body: SendBody, signal?: AbortSignal): Promise<string>;
  reply(
    messageId: string,
    body: SendBody & { reply_in_thread?: boolean },
    signal?: AbortSignal,
  ): Promise<string>;
  wsEndpoint(signal?: AbortSignal): Promise<WsEndpoint>;
}

interface Answer {
  code?: unknown;
  msg?: unknown;
  data?: unknown;
  [k: string]: unknown;
}

function retryAfterMs(res: Response): number {
  // Feishu's gateway reports the window reset in seconds; fall back to one second.
  for (const name of ["x-ogw-ratelimit-reset", "retry-after"]) {
    const v = Number(res.headers.get(name));
    if (Number.isFinite(v) && v > 0) return Math.min(60_000, Math.ceil(v * 1000));
  }
  return 1_000;
}

export function createFeishuApi(options: FeishuApiOptions): FeishuApi {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 15_000;

  async function request(
    method: string,
    path: string,
    body: unknown,
    token: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ res: Response; answer: Answer }> {
    const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
    if (token) headers.authorization = `Bearer ${token}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await doFetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      throw new FeishuNetworkError(`feishu ${path}: ${errorMessage(err)}`, err);
    }
    const text = await res.text().catch(() => "");
    let answer: Answer | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) answer = parsed as Answer;
    } catch {}
    if (res.status === 429) throw new FeishuRateLimitedError(retryAfterMs(res), undefined, path);
    if (!answer || typeof answer.code !== "number") {
      throw new FeishuNetworkError(
        `feishu ${path} answered HTTP ${res.status} without a JSON {code} body (${text.length} bytes)`,
      );
    }
    if (RATE_LIMIT_CODES.has(answer.code)) {
      throw new FeishuRateLimitedError(retryAfterMs(res), answer.code, `${path} code ${answer.code}`);
    }
    if (answer.code !== 0 && res.status >= 500) {
      throw new FeishuNetworkError(`feishu ${path} failed: HTTP ${res.status}, code ${answer.code}`);
    }
    return { res, answer };
  }

  async function fetchToken() {
    const path = "/open-apis/auth/v3/tenant_access_token/internal";
    const { res, answer } = await request(
      "POST",
      path,
      { app_id: options.appId, app_secret: options.appSecret },
      undefined,
    );
    if (answer.code !== 0) {
      const msg = typeof answer.msg === "string" ? answer.msg : "";
      throw new FeishuAuthError(
        `feishu refused the app credentials (appId ${options.appId}): code ${answer.code}${msg ? ` (${msg})` : ""}`,
      );
    }
    const token = answer.tenant_access_token;
    const expire = answer.expire;
    if (typeof token !== "string" || token.length === 0 || token.length > 4096) {
      throw new FeishuNetworkError(`feishu ${path} answered HTTP ${res.status} without a token`);
    }
    const seconds = typeof expire === "number" && expire > 0 ? Math.min(expire, 86_400) : 600;
    return { token, expiresInMs: seconds * 1000 };
  }

  const cacheOptions = { channel: "feishu", fetchToken, refreshAheadMs: 3 * 60_000 };
  const tokens = options.tokens
    ? options.tokens.get(`feishu:${baseUrl}:${options.appId}`, cacheOptions)
    : createTokenCache(cacheOptions);

  async function call<T>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    // An auth error (token expired or revoked early) drops the token and runs once more.
    return tokens.withToken(async (token) => {
      const { res, answer } = await request(method, path, body, token, signal);
      if (answer.code === 0) return answer as T;
      const code = answer.code as number;
      const msg = typeof answer.msg === "string" ? answer.msg.slice(0, 300) : "";
      if (TOKEN_ERROR_CODES.has(code)) {
        throw new FeishuAuthError(`feishu refused the access token on ${path}: code ${code} (${msg})`);
      }
      throw new FeishuApiError(path, code, msg, res.status);
    }, signal);
  }

  const messageId = (answer: Answer, path: string): string => {
    const id = (answer.data as { message_id?: unknown } | undefined)?.message_id;
    if (typeof id !== "string") throw new FeishuNetworkError(`feishu ${path} answered without a message_id`);
    return id;
  };

  return {
    baseUrl,
    tokens,
    call,
    async botInfo() {
      const answer = await call<Answer>("GET", "/open-apis/bot/v3/info");
      // The documented answer has `bot` at the top level; some gateways nest it under `data`.
      const bot = (answer.bot ?? (answer.data as Answer | undefined)?.bot) as
        | { open_id?: unknown; app_name?: unknown }
        | undefined;
      if (typeof bot?.open_id !== "string" || !bot.open_id) {
        throw new FeishuNetworkError("feishu bot/v3/info answered without bot.open_id");
      }
      return { openId: bot.open_id, ...(typeof bot.app_name === "string" ? { name: bot.app_name } : {}) };
    },
    async send(receiveIdType, receiveId, body, signal) {
      const path = `/open-apis/im/v1/messages?receive_id_type=${encodeURIComponent(receiveIdType)}`;
      return messageId(await call<Answer>("POST", path, { receive_id: receiveId, ...body }, signal), path);
    },
    async reply(id, body, signal) {
      const path = `/open-apis/im/v1/messages/${encodeURIComponent(id)}/reply`;
      return messageId(await call<Answer>("POST", path, body, signal), path);
    },
    async wsEndpoint(signal) {
      const path = "/callback/ws/endpoint";
      const timeout = AbortSignal.timeout(timeoutMs);
      let res: Response;
      try {
        res = await doFetch(`${baseUrl}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", locale: "zh" },
          body: JSON.stringify({ AppID: options.appId, AppSecret: options.appSecret }),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (err) {
        throw new FeishuNetworkError(`feishu ${path}: ${errorMessage(err)}`, err);
      }
      let answer: Answer | undefined;
      try {
        answer = (await res.json()) as Answer;
      } catch {}
      if (!answer || typeof answer.code !== "number") {
        throw new FeishuNetworkError(`feishu ${path} answered HTTP ${res.status} without a JSON {code} body`);
      }
      const msg = typeof answer.msg === "string" ? answer.msg.slice(0, 300) : "";
      // 1 (system busy) and 1000040343 (internal error) are the server's trouble: retry. The rest
      // (403 forbidden, 514 auth failed, 1000040350 too many connections…) is ours to fix.
      if (answer.code === 1 || answer.code === 1000040343) {
        throw new FeishuNetworkError(`feishu ${path}: server busy (code ${answer.code})`);
      }
      if (answer.code !== 0) {
        const what =
          answer.code === 1000040350
            ? "too many long connections for this app (limit 50)"
            : answer.code === 514 || answer.code === 403
              ? `app ${options.appId} may not open a long connection (check appId/appSecret and that the app is a self-built app)`
              : "refused";
        throw new FeishuAuthError(`feishu ${path}: ${what}: code ${answer.code}${msg ? ` (${msg})` : ""}`);
      }
      const data = answer.data as {
        URL?: unknown;
        ClientConfig?: Partial<Record<keyof ClientConfig, unknown>>;
      };
      if (typeof data?.URL !== "string" || !/^wss?:\/\//.test(data.URL)) {
        throw new FeishuNetworkError(`feishu ${path} answered without a WebSocket URL`);
      }
      const cc = data.ClientConfig ?? {};
      const num = (x: unknown, d: number) => (typeof x === "number" && Number.isFinite(x) ? x : d);
      return {
        url: data.URL,
        config: {
          PingInterval: num(cc.PingInterval, 120),
          ReconnectCount: num(cc.ReconnectCount, -1),
          ReconnectInterval: num(cc.ReconnectInterval, 120),
          ReconnectNonce: num(cc.ReconnectNonce, 30),
        },
      };
    },
  };
}
