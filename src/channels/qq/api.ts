/**
 * QQ bot API v2 over HTTP: the app access token (`POST {tokenUrl}` with appId + clientSecret →
 * `{access_token, expires_in}`, expires_in a string in the docs), the gateway URL, and the four
 * send endpoints. Calls carry `Authorization: QQBot <token>` and `X-Union-Appid`. Errors are an
 * HTTP status plus `{code, message}`: token codes → auth (the kit's cache refreshes and retries
 * once), rate codes → rate limited, the reply-window codes → refused with QQ's rule spelled out.
 */
import { ChannelError } from "../kit/errors.ts";
import type { FetchedToken } from "../kit/token-cache.ts";

export interface QqApiOptions {
  apiBaseUrl: string;
  tokenUrl: string;
  appId: string;
  secret: string;
  fetch: typeof fetch;
  /** QQ recommends ≥ 5 s so a send that succeeded is not reported as failed. */
  timeoutMs?: number;
}

/** Token invalid or expired. */
const AUTH_CODES = new Set([11241, 11242, 11243, 11244, 100016]);
const RATE_CODES = new Set([22009, 20028]);

export type QqTarget =
  | { kind: "group"; id: string }
  | { kind: "c2c"; id: string }
  | { kind: "channel"; id: string }
  | { kind: "dm"; id: string };

export function sendPath(t: QqTarget): string {
  const id = encodeURIComponent(t.id);
  switch (t.kind) {
    case "group":
      return `/v2/groups/${id}/messages`;
    case "c2c":
      return `/v2/users/${id}/messages`;
    case "channel":
      return `/channels/${id}/messages`;
    case "dm":
      return `/dms/${id}/messages`;
  }
}

export class QqApiError extends ChannelError {
  override name = "QqApiError";
  constructor(
    kind: ConstructorParameters<typeof ChannelError>[1],
    message: string,
    readonly code: number | undefined,
    readonly status: number,
  ) {
    super("qq", kind, message);
  }
}

export interface QqApi {
  getToken(signal?: AbortSignal): Promise<FetchedToken>;
  gatewayUrl(token: string): Promise<string>;
  send(token: string, target: QqTarget, body: Record<string, unknown>): Promise<{ id?: string }>;
}

export function createQqApi(o: QqApiOptions): QqApi {
  const base = o.apiBaseUrl.replace(/\/+$/, "");
  const timeout = o.timeoutMs ?? 10_000;

  async function request(url: string, init: RequestInit, what: string, token?: string) {
    let res: Response;
    try {
      res = await o.fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(timeout) });
    } catch (err) {
      throw new ChannelError("qq", "network", `qq ${what}: ${(err as Error).message}`, {
        cause: err,
        secrets: [o.secret, token],
      });
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      if (text) json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      if (res.ok) throw new ChannelError("qq", "network", `qq ${what}: answer is not JSON`);
    }
    const code = typeof json.code === "number" ? json.code : undefined;
    if (res.ok && (code === undefined || code === 0)) return json;
    const msg = `qq ${what} failed: HTTP ${res.status}${code !== undefined ? `, code ${code}` : ""}${
      json.message ? ` (${String(json.message).slice(0, 200)})` : ""
    }`;
    if (res.status === 401 || (code !== undefined && AUTH_CODES.has(code)))
      throw new QqApiError("auth", msg, code, res.status);
    if (res.status === 429 || (code !== undefined && RATE_CODES.has(code)))
      throw new QqApiError("rate_limited", msg, code, res.status);
    if (res.status >= 500) throw new QqApiError("network", msg, code, res.status);
    throw new QqApiError("refused", msg, code, res.status);
  }

  const headers = (token: string) => ({
    authorization: `QQBot ${token}`,
    "x-union-appid": o.appId,
    "content-type": "application/json",
  });

  return {
    async getToken(signal) {
      const j = await request(
        o.tokenUrl,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ appId: o.appId, clientSecret: o.secret }),
          ...(signal ? { signal } : {}),
        },
        "getAppAccessToken",
      ).catch((err) => {
        // A refused token request means the app id / secret are wrong.
        if (err instanceof QqApiError && err.kind === "refused")
          throw new QqApiError("auth", err.message, err.code, err.status);
        throw err;
      });
      const token = j.access_token;
      const exp = Number(j.expires_in);
      if (typeof token !== "string" || !token || !Number.isFinite(exp) || exp <= 0)
        throw new ChannelError(
          "qq",
          "auth",
          "qq getAppAccessToken answered without access_token / expires_in",
        );
      return { token, expiresInMs: exp * 1000 };
    },
    async gatewayUrl(token) {
      const j = await request(
        `${base}/gateway`,
        { method: "GET", headers: headers(token) },
        "gateway",
        token,
      );
      if (typeof j.url !== "string" || !/^wss?:\/\//.test(j.url))
        throw new ChannelError("qq", "network", "qq /gateway answered without a WebSocket url");
      return j.url;
    },
    async send(token, target, body) {
      const j = await request(
        `${base}${sendPath(target)}`,
        { method: "POST", headers: headers(token), body: JSON.stringify(body) },
        "send",
        token,
      );
      return typeof j.id === "string" ? { id: j.id } : {};
    },
  };
}
