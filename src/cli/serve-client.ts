/**
 * Talking to a running `ngb serve` from the CLI (`ngb chat`, `ngb send`): its base URL from the
 * config (web.host / web.port; a wildcard bind is reached on loopback) and the web token
 * (config `web.token`, else the token file `serve` keeps in the data dir).
 */
import type { Config } from "../config/index.ts";
import { UserError } from "../util/errors.ts";

export interface ServeTarget {
  url: string;
  token: string;
}

export async function serveTarget(config: Config, urlOverride?: string): Promise<ServeTarget> {
  const host = config.web.host;
  const reach = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const url = (
    urlOverride ?? `http://${reach.includes(":") ? `[${reach}]` : reach}:${config.web.port}`
  ).replace(/\/+$/, "");
  let token = config.web.token?.trim();
  if (!token) {
    const { existsSync, readFileSync } = await import("node:fs");
    const { tokenFile } = await import("../web/token.ts");
    const file = tokenFile(config.dataDir);
    if (!existsSync(file))
      throw new UserError(
        `no web token at ${file}: is \`ngb serve\` running from this directory (or set web.token / NGB_WEB_TOKEN)?`,
      );
    token = readFileSync(file, "utf8").trim();
  }
  return { url, token };
}

/** fetch against serve with the token; a refused connection becomes a clear one-line error. */
export async function serveFetch(
  target: ServeTarget,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  // A database busy in another process: serve refused without doing anything (503 store_busy)
  // and says when to come back; a few bounded retries, then the 503 goes to the caller.
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${target.url}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${target.token}`,
          "content-type": "application/json",
          ...init.headers,
        },
      });
    } catch (err) {
      throw new UserError(
        `cannot reach ngb serve at ${target.url} (${(err as Error).message}); start it with \`ngb serve\``,
      );
    }
    const retryAfter = Number(res.headers.get("retry-after"));
    if (res.status !== 503 || attempt >= 4 || !(retryAfter > 0)) return res;
    await res.arrayBuffer();
    await Bun.sleep(Math.min(retryAfter, 5) * 1000);
  }
}

/** The `message` field of an error response, or the status line. */
export async function errorText(res: Response): Promise<string> {
  const body = (await res.json().catch(() => null)) as { message?: string } | null;
  return body?.message ?? `${res.status} ${res.statusText}`;
}
