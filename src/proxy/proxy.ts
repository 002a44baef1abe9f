/**
 * The credential proxy: a Bun server on a unix socket that agent containers reach through a
 * bind mount. Each container gets its own token; the proxy checks it, swaps it for the real
 * Anthropic credentials (which never enter a container), forwards to the configured upstream,
 * streams the answer back unbuffered and records token usage per group and day.
 */
import { randomToken } from "../util/crypto.ts";
import { chmodSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type { Config, Quotas } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import { errorMessage } from "../util/errors.ts";
import {
  createDailyLimit,
  type DailyUsageRow,
  FORWARDED_TEXT,
  isForwarded,
  overLimitMessage,
} from "./limits.ts";
import { type AuthFailure, authFailure, type OnAuthFailure, upstreamDetail } from "./auth-failure.ts";
import { type TokenUsage, usageTap } from "./usage.ts";

export interface UsageSink {
  usage: {
    add(groupFolder: string, u: TokenUsage, now?: number): void;
    /** Usage rows since a UTC day; needed only for daily token limits. */
    list?(sinceDay: string): DailyUsageRow[];
  };
}

export interface CredentialProxyOptions {
  /** `quotas` (optional) carries the per-group daily token limits. */
  config: Pick<Config, "anthropic"> & { quotas?: Pick<Quotas, "dailyTokensPerGroup" | "dailyTokensByGroup"> };
  store: UsageSink;
  log: Logger;
  /** Usually `<dataDir>/proxy/proxy.sock`; the directory is what containers mount. */
  socketPath: string;
  fetch?: typeof fetch;
  now?: () => number;
  /**
   * No credentials configured, or the upstream answered 401/403: the run cannot succeed, so
   * the caller stops it instead of retrying. Called once per container token.
   */
  onAuthFailure?: OnAuthFailure;
  /** Each model response's token usage as it completes (live progress; the store keeps totals). */
  onUsage?: (groupFolder: string, usage: TokenUsage) => void;
}

export interface CredentialProxy {
  readonly socketPath: string;
  /** A fresh token for one container of `groupFolder`. */
  issue(groupFolder: string): string;
  revoke(token: string): void;
  stop(): Promise<void>;
}

export class ProxyStartError extends Error {
  override name = "ProxyStartError";
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  // Bun's fetch negotiates and decodes compression itself.
  "accept-encoding",
  "x-api-key",
  "authorization",
]);

const RESPONSE_DROP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-encoding",
  "content-length",
]);

/** Anthropic-shaped error, so the agent's CLI shows the message. */
function apiError(status: number, type: string, message: string): Response {
  return Response.json({ type: "error", error: { type, message } }, { status });
}

/** unix socket paths are limited to 108 bytes including the terminator. */
const MAX_SOCKET_PATH = 107;

function tokenOf(req: Request): string | null {
  const key = req.headers.get("x-api-key");
  if (key) return key.trim();
  const auth = req.headers.get("authorization");
  const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth.trim()) : null;
  return m ? m[1]! : null;
}

export function createCredentialProxy(options: CredentialProxyOptions): CredentialProxy {
  const { config, store, socketPath } = options;
  const log = options.log.withTag("proxy");
  const doFetch = options.fetch ?? fetch;
  const tokens = new Map<string, string>();
  const base = config.anthropic.baseUrl.replace(/\/+$/, "");
  const upstreamHost = new URL(base).host;
  const now = options.now ?? Date.now;
  const quotas = config.quotas;
  const overLimit = createDailyLimit({
    limitFor: (g) => quotas?.dailyTokensByGroup?.[g] ?? quotas?.dailyTokensPerGroup ?? 0,
    usageSince: (day) => store.usage.list?.(day) ?? [],
    now,
  });

  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH)
    throw new ProxyStartError(
      `credential proxy socket path is too long (${Buffer.byteLength(socketPath)} > ${MAX_SOCKET_PATH} bytes): ${socketPath}; use a shorter dataDir`,
    );
  const dir = dirname(socketPath);
  mkdirSync(dir, { recursive: true });
  // Traversable but not listable: containers running as another uid must reach the socket.
  chmodSync(dir, 0o711);
  if (existsSync(socketPath)) rmSync(socketPath, { force: true });

  // Kept apart from the request path: a run whose credentials cannot work is reported once and
  // answered with a 401/403 the SDK does not retry, carrying the sentence for people.
  const reported = new Set<string>();
  function refuseAuth(token: string, group: string, f: Omit<AuthFailure, "sentence">): Response {
    const failure = authFailure(f);
    if (!reported.has(token)) {
      reported.add(token);
      log.warn("model API credentials unusable", {
        group,
        reason: f.reason,
        status: f.status,
        detail: f.detail,
      });
      try {
        options.onAuthFailure?.(group, failure);
      } catch (err) {
        log.error("onAuthFailure failed", { error: errorMessage(err) });
      }
    }
    const type = f.status === 403 ? "permission_error" : "authentication_error";
    return apiError(f.status, type, failure.sentence);
  }

  async function handle(req: Request): Promise<Response> {
    const token = tokenOf(req);
    const group = token ? tokens.get(token) : undefined;
    if (!group) {
      log.warn("request refused: missing or unknown container token", { path: new URL(req.url).pathname });
      return apiError(
        401,
        "authentication_error",
        "ngb credential proxy: missing or invalid container token",
      );
    }
    const { apiKey, authToken } = config.anthropic;
    if (!apiKey && !authToken)
      return refuseAuth(token!, group, { reason: "missing", status: 401, detail: "", credential: "none" });

    const url = new URL(req.url);
    // The key is lent for the two endpoints agents need, not for batches, files or anything else.
    if (!isForwarded(req.method, url.pathname)) {
      log.warn("request refused: endpoint not forwarded", { group, method: req.method, path: url.pathname });
      return apiError(
        403,
        "permission_error",
        `ngb credential proxy: ${req.method} ${url.pathname.slice(0, 200)} is not forwarded (only ${FORWARDED_TEXT})`,
      );
    }
    if (url.pathname === "/v1/messages") {
      const over = overLimit(group);
      if (over) {
        log.warn("request refused: daily token limit reached", {
          group,
          rule: "quotas.dailyTokensPerGroup",
          limit: over.limit,
          used: over.used,
        });
        const res = apiError(429, "rate_limit_error", overLimitMessage(over, now()));
        // Retrying cannot help before the reset: tell the Anthropic SDK not to.
        res.headers.set("x-should-retry", "false");
        res.headers.set("retry-after", String(Math.ceil((over.resetsAt - now()) / 1000)));
        return res;
      }
    }
    const headers = new Headers();
    req.headers.forEach((value, key) => {
      if (!HOP_BY_HOP.has(key.toLowerCase())) headers.set(key, value);
    });
    if (apiKey) headers.set("x-api-key", apiKey);
    else {
      headers.set("authorization", `Bearer ${authToken}`);
      const beta = headers.get("anthropic-beta");
      if (!beta?.includes("oauth-2025-04-20"))
        headers.set("anthropic-beta", beta ? `${beta},oauth-2025-04-20` : "oauth-2025-04-20");
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const started = performance.now();
    let upstream: Response;
    try {
      upstream = await doFetch(`${base}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body: hasBody ? await req.arrayBuffer() : undefined,
        redirect: "manual",
        signal: req.signal,
      });
    } catch (err) {
      const msg = errorMessage(err);
      log.warn("upstream unreachable", { group, upstream: upstreamHost, error: msg });
      return apiError(
        502,
        "api_error",
        `ngb credential proxy: upstream ${upstreamHost} unreachable (${msg})`,
      );
    }
    log.debug("proxied", {
      group,
      method: req.method,
      path: url.pathname,
      status: upstream.status,
      ms: Math.round(performance.now() - started),
    });

    if (upstream.status === 401 || upstream.status === 403) {
      const detail = upstreamDetail(upstream.status, await upstream.text().catch(() => ""));
      return refuseAuth(token!, group, {
        reason: "rejected",
        status: upstream.status,
        detail,
        credential: apiKey ? "apiKey" : "authToken",
      });
    }

    const outHeaders = new Headers();
    upstream.headers.forEach((value, key) => {
      if (!RESPONSE_DROP.has(key.toLowerCase())) outHeaders.set(key, value);
    });
    const counts = req.method === "POST" && url.pathname.endsWith("/v1/messages") && upstream.ok;
    if (!counts || !upstream.body)
      return new Response(upstream.body, {
        status: upstream.status,
        statusText: upstream.statusText,
        headers: outHeaders,
      });
    const type = upstream.headers.get("content-type") ?? "";
    const tap = usageTap(type.includes("text/event-stream") ? "sse" : "json", (u) => {
      try {
        store.usage.add(group, u, now());
        options.onUsage?.(group, u);
      } catch (err) {
        log.warn("usage not recorded", { group, error: errorMessage(err) });
      }
    });
    return new Response(upstream.body.pipeThrough(tap), {
      status: upstream.status,
      statusText: upstream.statusText,
      headers: outHeaders,
    });
  }

  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      unix: socketPath,
      // Streams may sit quiet while the model thinks (the typings only list it for TCP).
      ...({ idleTimeout: 0 } as object),
      // The Messages API caps a request at 32 MB.
      maxRequestBodySize: 32 * 1024 * 1024,
      fetch: (req) =>
        handle(req).catch((err) => {
          log.error("proxy request failed", { error: errorMessage(err) });
          return apiError(500, "api_error", "ngb credential proxy: internal error");
        }),
    });
  } catch (err) {
    throw new ProxyStartError(`cannot listen on ${socketPath}: ${errorMessage(err)}`);
  }
  // Only holders of a valid token get anywhere, so any local uid (the container's) may connect.
  chmodSync(socketPath, 0o666);
  log.debug("listening", { socketPath, upstream: upstreamHost });

  return {
    socketPath,
    issue(groupFolder) {
      const token = `ngbp_${randomToken(24)}`;
      tokens.set(token, groupFolder);
      return token;
    },
    revoke(token) {
      tokens.delete(token);
      reported.delete(token);
    },
    async stop() {
      tokens.clear();
      await server.stop(true);
      rmSync(socketPath, { force: true });
    },
  };
}
