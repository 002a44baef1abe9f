/**
 * Anthropic credentials: their shape (checked before any request) and a real request that
 * tells a valid key from a rejected one. Shared by `ngb setup`, `ngb doctor` and the
 * readiness shown by `ngb serve`.
 */
import { scrubDetail, upstreamDetail } from "../proxy/index.ts";

export type CredentialKind = "apiKey" | "authToken";

/** Console API keys start `sk-ant-api`; Claude Code's OAuth tokens (`claude setup-token`) `sk-ant-oat`. */
const SHAPES: Record<CredentialKind, { prefix: string; what: string; fix: string }> = {
  apiKey: {
    prefix: "sk-ant-api",
    what: "an Anthropic API key",
    fix: "copy the whole key (sk-ant-api…) from console.anthropic.com → API keys",
  },
  authToken: {
    prefix: "sk-ant-oat",
    what: "a Claude subscription token",
    fix: "run `claude setup-token` and copy the whole token (sk-ant-oat…)",
  },
};

/** Which kind a credential looks like, by its prefix. */
export function credentialKindOf(value: string): CredentialKind | undefined {
  if (value.startsWith(SHAPES.apiKey.prefix)) return "apiKey";
  if (value.startsWith(SHAPES.authToken.prefix)) return "authToken";
  return undefined;
}

/**
 * One line naming what is wrong with a credential's shape, or null when it looks right.
 * No request is made, and the value never appears in the message.
 */
export function credentialShapeProblem(value: string, kind: CredentialKind): string | null {
  const s = SHAPES[kind];
  if (value.length === 0) return `the ${kind === "apiKey" ? "key" : "token"} is empty: ${s.fix}`;
  if (/\s/.test(value))
    return `the ${kind === "apiKey" ? "key" : "token"} contains whitespace (a line break or space from copying?): ${s.fix}`;
  const other = credentialKindOf(value);
  if (other && other !== kind)
    return `this looks like ${SHAPES[other].what}, not ${s.what}: ${kind === "apiKey" ? "give it as a subscription token (--oauth-token)" : "give it as an API key (--api-key)"}`;
  if (
    !value.startsWith("sk-ant-") ||
    !/^[A-Za-z0-9_-]+$/.test(value) ||
    value.length < 24 ||
    value.length > 300
  )
    return `this does not look like ${s.what} (expected ${s.prefix}… with letters, digits, - and _): ${s.fix}`;
  return null;
}

export interface CredentialCheck {
  status: "ok" | "rejected" | "unverified" | "missing";
  /** One line for people (never the credential). */
  detail: string;
  fix?: string;
  httpStatus?: number;
}

export interface VerifyOptions {
  baseUrl: string;
  apiKey?: string;
  authToken?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * A real, free request (`GET /v1/models?limit=1`) with the credential: 200 → ok; 401/403 →
 * rejected; anything else (network, 429, 5xx) → unverified, since it says nothing about the key.
 */
export async function verifyCredentials(opts: VerifyOptions): Promise<CredentialCheck> {
  const doFetch = opts.fetch ?? fetch;
  const base = opts.baseUrl.replace(/\/+$/, "");
  const host = (() => {
    try {
      return new URL(base).host;
    } catch {
      return base;
    }
  })();
  if (!opts.apiKey && !opts.authToken)
    return {
      status: "missing",
      detail: "no API key or subscription token configured",
      fix: "run `ngb setup`, or set ANTHROPIC_API_KEY (CLAUDE_CODE_OAUTH_TOKEN for a subscription)",
    };
  const headers: Record<string, string> = { "anthropic-version": "2023-06-01" };
  if (opts.apiKey) headers["x-api-key"] = opts.apiKey;
  else {
    headers.authorization = `Bearer ${opts.authToken}`;
    headers["anthropic-beta"] = "oauth-2025-04-20";
  }
  const what = opts.apiKey ? "API key" : "subscription token";
  let res: Response;
  try {
    res = await doFetch(`${base}/v1/models?limit=1`, {
      headers,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
  } catch (err) {
    const reason =
      (err as Error).name === "TimeoutError" ? "timed out" : scrubDetail((err as Error).message, 120);
    return {
      status: "unverified",
      detail: `${what} set, but ${host} could not be reached (${reason})`,
      fix: "check the network (or anthropic.baseUrl), then `ngb doctor` again",
    };
  }
  const body = await res.text().catch(() => "");
  if (res.ok) return { status: "ok", detail: `${what} accepted by ${host}`, httpStatus: res.status };
  const detail = upstreamDetail(res.status, body);
  if (res.status === 401 || (res.status === 403 && opts.apiKey))
    return {
      status: "rejected",
      detail: `${what} rejected by ${host} (${res.status} ${detail})`,
      fix: opts.apiKey
        ? "create a new key at console.anthropic.com and run `ngb setup` (or set ANTHROPIC_API_KEY)"
        : "create a new token with `claude setup-token` and run `ngb setup`",
      httpStatus: res.status,
    };
  return {
    status: "unverified",
    detail: `${what} set, but ${host} answered ${res.status} (${detail}), which says nothing about the ${what}`,
    fix: res.status === 429 || res.status >= 500 ? "try again in a minute" : undefined,
    httpStatus: res.status,
  };
}
