/**
 * DingTalk HTTP calls: the app access token (`/v1.0/oauth2/accessToken`), the Stream gateway's
 * `connections/open`, the robot OpenAPI sends (`oToMessages/batchSend`, `groupMessages/send`)
 * and a message's session webhook. Each call separates "the platform said no" (DingTalkApiError,
 * with the platform's code) from "the network failed" (DingTalkNetworkError) and never puts the
 * secret, the token or a session webhook's query in a message.
 */
import { ChannelError, RateLimitedError, retryAfterFromHeaders } from "../kit/index.ts";

export interface DingTalkApiOptions {
  /** OpenAPI base (https://api.dingtalk.com). The gateway's connections/open lives here too. */
  apiBaseUrl: string;
  /** Gateway base for connections/open when it differs from apiBaseUrl. */
  gatewayBaseUrl?: string;
  clientId: string;
  clientSecret: string;
  fetch?: typeof fetch;
  /** Per-request timeout. Default 15 s. */
  timeoutMs?: number;
}

/**
 * DingTalk answered, and the answer was no. `code` is the platform's (e.g. InvalidAuthentication).
 * A refusal of the request (4xx: bad ids, no permission, bad secret) is permanent; a server
 * error or an unreadable answer may pass.
 */
export class DingTalkApiError extends ChannelError {
  override name = "DingTalkApiError";
  constructor(
    readonly endpoint: string,
    readonly status: number,
    readonly code: string,
    detail?: string,
    permanent?: boolean,
  ) {
    super(
      "dingtalk",
      isAuthCode(status, code) ? "auth" : status >= 500 || code === "bad_response" ? "network" : "refused",
      `dingtalk ${endpoint} refused (HTTP ${status}, ${code})${detail ? `: ${detail}` : ""}`,
      { permanent: permanent ?? (status >= 400 && status < 500) },
    );
  }
  get isAuthError(): boolean {
    return this.kind === "auth";
  }
}

/** The request never got an answer (DNS, TCP, TLS, timeout). */
export class DingTalkNetworkError extends ChannelError {
  override name = "DingTalkNetworkError";
  constructor(
    readonly endpoint: string,
    cause: unknown,
    secrets: readonly (string | undefined)[] = [],
  ) {
    super(
      "dingtalk",
      "network",
      `dingtalk ${endpoint} unreachable: ${(cause as Error)?.message ?? String(cause)}`,
      {
        cause,
        secrets,
      },
    );
  }
}

function isAuthCode(status: number, code: string): boolean {
  return status === 401 || /InvalidAuthentication|invalidClient|Unauthorized|\.Auth/i.test(code);
}

const THROTTLED = /Throttling|QpsLimit|FlowControl|TooManyRequests/i;

export interface AccessToken {
  token: string;
  /** Lifetime in ms as the platform stated it (7200 s). */
  expiresInMs: number;
}

export interface Connection {
  endpoint: string;
  ticket: string;
}

export interface Subscription {
  type: "CALLBACK" | "EVENT";
  topic: string;
}

/** An OpenAPI robot message: `msgKey` (sampleText, sampleMarkdown…) + its JSON-string params. */
export interface RobotPayload {
  msgKey: "sampleText" | "sampleMarkdown";
  msgParam: string;
}

export interface OtoResult {
  processQueryKey?: string;
  invalidStaffIdList: string[];
  flowControlledStaffIdList: string[];
}

export interface WebhookBody {
  msgtype: "text" | "markdown";
  text?: { content: string };
  markdown?: { title: string; text: string };
}

export interface DingTalkApi {
  getAccessToken(): Promise<AccessToken>;
  openConnection(subscriptions: Subscription[], ua: string): Promise<Connection>;
  batchSendOto(token: string, userIds: string[], payload: RobotPayload): Promise<OtoResult>;
  sendToGroup(token: string, openConversationId: string, payload: RobotPayload): Promise<void>;
  /** POST to a session webhook; resolves on `errcode` 0. */
  sendBySession(url: string, body: WebhookBody): Promise<void>;
}

/** Webhook errcodes that mean "slow down" (130101: sending too fast). */
const WEBHOOK_THROTTLED = new Set([130101, 130102]);

function list(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === "string") : [];
}

export function createDingTalkApi(opts: DingTalkApiOptions): DingTalkApi {
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const api = opts.apiBaseUrl.replace(/\/+$/, "");
  const gateway = (opts.gatewayBaseUrl ?? opts.apiBaseUrl).replace(/\/+$/, "");

  /** POST JSON; returns the parsed body of a 2xx answer, throws typed errors otherwise. */
  async function post(
    endpoint: string,
    url: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      // A session webhook URL carries its session secret in the query: keep it out of messages.
      throw new DingTalkNetworkError(endpoint, err, [
        opts.clientSecret,
        ...Object.values(headers),
        url.split("?")[1],
      ]);
    }
    const text = await res.text().catch(() => "");
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = undefined;
    }
    const obj =
      json && typeof json === "object" && !Array.isArray(json) ? (json as Record<string, unknown>) : null;
    const code =
      typeof obj?.code === "string" ? obj.code : typeof obj?.code === "number" ? String(obj.code) : "";
    if (res.status === 429 || THROTTLED.test(code)) {
      throw new RateLimitedError(
        "dingtalk",
        retryAfterFromHeaders(res.headers) ?? 1_000,
        `${endpoint} ${code || 429}`,
      );
    }
    if (!res.ok) {
      const message = typeof obj?.message === "string" ? obj.message.slice(0, 200) : undefined;
      throw new DingTalkApiError(endpoint, res.status, code || "unknown", message);
    }
    if (!obj) throw new DingTalkApiError(endpoint, res.status, "bad_response", "answer is not a JSON object");
    return obj;
  }

  return {
    async getAccessToken() {
      const res = await post("oauth2/accessToken", `${api}/v1.0/oauth2/accessToken`, {
        appKey: opts.clientId,
        appSecret: opts.clientSecret,
      });
      const token = res.accessToken;
      const expireIn = res.expireIn;
      if (typeof token !== "string" || token === "" || typeof expireIn !== "number" || !(expireIn > 0)) {
        throw new DingTalkApiError(
          "oauth2/accessToken",
          200,
          "bad_response",
          "no accessToken/expireIn in the answer",
        );
      }
      return { token, expiresInMs: expireIn * 1000 };
    },

    async openConnection(subscriptions, ua) {
      const res = await post("gateway/connections/open", `${gateway}/v1.0/gateway/connections/open`, {
        clientId: opts.clientId,
        clientSecret: opts.clientSecret,
        subscriptions,
        ua,
      });
      const { endpoint, ticket } = res;
      if (
        typeof endpoint !== "string" ||
        !/^wss?:\/\//.test(endpoint) ||
        typeof ticket !== "string" ||
        !ticket
      ) {
        throw new DingTalkApiError(
          "gateway/connections/open",
          200,
          "bad_response",
          "no ws(s) endpoint or ticket in the answer",
        );
      }
      return { endpoint, ticket };
    },

    async batchSendOto(token, userIds, payload) {
      const res = await post(
        "robot/oToMessages/batchSend",
        `${api}/v1.0/robot/oToMessages/batchSend`,
        { robotCode: opts.clientId, userIds, ...payload },
        { "x-acs-dingtalk-access-token": token },
      );
      return {
        ...(typeof res.processQueryKey === "string" ? { processQueryKey: res.processQueryKey } : {}),
        invalidStaffIdList: list(res.invalidStaffIdList),
        flowControlledStaffIdList: list(res.flowControlledStaffIdList),
      };
    },

    async sendToGroup(token, openConversationId, payload) {
      await post(
        "robot/groupMessages/send",
        `${api}/v1.0/robot/groupMessages/send`,
        { robotCode: opts.clientId, openConversationId, ...payload },
        { "x-acs-dingtalk-access-token": token },
      );
    },

    async sendBySession(url, body) {
      const res = await post("sessionWebhook", url, body);
      const errcode = typeof res.errcode === "number" ? res.errcode : 0;
      if (errcode === 0) return;
      const errmsg = typeof res.errmsg === "string" ? res.errmsg.slice(0, 200) : undefined;
      if (WEBHOOK_THROTTLED.has(errcode))
        throw new RateLimitedError("dingtalk", 5_000, `sessionWebhook ${errcode}`);
      throw new DingTalkApiError("sessionWebhook", 200, String(errcode), errmsg);
    },
  };
}

/** Our own settings or the chat id cannot work (missing credentials, unreachable chat). */
export class DingTalkConfigError extends ChannelError {
  override name = "DingTalkConfigError";
  constructor(message: string) {
    super("dingtalk", "config", message);
  }
}
