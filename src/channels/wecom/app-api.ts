/**
 * The WeCom self-built app's REST calls: `cgi-bin/gettoken` (a per-app access token, 7200 s,
 * through the kit's shared token cache) and `cgi-bin/message/send` (text or markdown to a
 * member, ≤ 2048 bytes, server-side de-duplication switched on so a re-send within 30 min is
 * dropped by WeCom). Errors: `errcode` in a 200 body; token codes → auth (refresh and retry
 * once), frequency codes → rate limited, the rest → refused.
 */
import { ChannelError } from "../kit/errors.ts";
import type { FetchedToken } from "../kit/token-cache.ts";

export interface WecomAppApiOptions {
  apiBaseUrl: string;
  corpId: string;
  corpSecret: string;
  agentId: number;
  fetch: typeof fetch;
  timeoutMs?: number;
}

/** Token invalid / expired / missing (refresh and retry once). */
const TOKEN_CODES = new Set([40014, 42001, 41001]);
/** Wrong corp id or secret. */
const CREDENTIAL_CODES = new Set([40001, 40013, 40091, 40056, 60020]);
/** Frequency limits (api, per member, per app). */
const RATE_CODES = new Set([45009, 45033, 45047, -1]);

export interface WecomAppApi {
  getToken(signal?: AbortSignal): Promise<FetchedToken>;
  sendMessage(token: string, body: Record<string, unknown>): Promise<{ msgid?: string }>;
}

export function createWecomAppApi(o: WecomAppApiOptions): WecomAppApi {
  const base = o.apiBaseUrl.replace(/\/+$/, "");
  const timeout = o.timeoutMs ?? 10_000;
  const secrets = [o.corpSecret];

  async function call(
    url: string,
    init: RequestInit,
    what: string,
    token?: string,
  ): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await o.fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(timeout) });
    } catch (err) {
      throw new ChannelError("wecom", "network", `wecom ${what}: ${(err as Error).message}`, {
        cause: err,
        secrets: [...secrets, token],
      });
    }
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
      if (!json || typeof json !== "object") throw new Error("not an object");
    } catch {
      throw new ChannelError("wecom", "network", `wecom ${what}: HTTP ${res.status}, answer is not JSON`);
    }
    const code = typeof json.errcode === "number" ? json.errcode : res.ok ? 0 : -2;
    if (code === 0) return json;
    const msg = `wecom ${what} failed: ${String(json.errmsg ?? "").slice(0, 200)} (errcode ${code})`;
    if (TOKEN_CODES.has(code)) throw new ChannelError("wecom", "auth", msg, { secrets });
    if (CREDENTIAL_CODES.has(code)) throw new ChannelError("wecom", "auth", msg, { secrets });
    if (RATE_CODES.has(code)) throw new ChannelError("wecom", "rate_limited", msg, { retryAfterMs: 60_000 });
    if (res.status >= 500) throw new ChannelError("wecom", "network", msg);
    throw new ChannelError("wecom", "refused", msg, { secrets });
  }

  return {
    async getToken(signal) {
      const url = `${base}/cgi-bin/gettoken?corpid=${encodeURIComponent(o.corpId)}&corpsecret=${encodeURIComponent(o.corpSecret)}`;
      const j = await call(url, { method: "GET", ...(signal ? { signal } : {}) }, "gettoken");
      const token = j.access_token;
      const exp = Number(j.expires_in);
      if (typeof token !== "string" || !token || !Number.isFinite(exp) || exp <= 0)
        throw new ChannelError(
          "wecom",
          "network",
          "wecom gettoken answered without access_token / expires_in",
        );
      return { token, expiresInMs: exp * 1000 };
    },
    async sendMessage(token, body) {
      const url = `${base}/cgi-bin/message/send?access_token=${encodeURIComponent(token)}`;
      const j = await call(
        url,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            agentid: o.agentId,
            enable_duplicate_check: 1,
            duplicate_check_interval: 1800,
            ...body,
          }),
        },
        "message/send",
        token,
      );
      if (typeof j.invaliduser === "string" && j.invaliduser)
        throw new ChannelError(
          "wecom",
          "refused",
          `wecom message/send: recipient ${j.invaliduser} is not a member this app can reach`,
        );
      return typeof j.msgid === "string" ? { msgid: j.msgid } : {};
    },
  };
}
