/**
 * A stand-in for the host's credential proxy: plain HTTP on a unix socket, checks the
 * per-container token (x-api-key), swaps it for `realKey` and forwards to `upstream`, streaming
 * the response back. Lets agent-runner tests run without the real proxy.
 */
import { chmodSync, rmSync } from "node:fs";

export interface SocketProxy {
  socketPath: string;
  /** Every forwarded request: method, path and the token it carried. */
  seen: { method: string; path: string; token: string | null }[];
  refused: number;
  stop(): Promise<void>;
}

export function startSocketProxy(opts: {
  socketPath: string;
  upstream: string;
  token: string;
  realKey?: string;
}): SocketProxy {
  rmSync(opts.socketPath, { force: true });
  const seen: SocketProxy["seen"] = [];
  let refused = 0;
  const server = Bun.serve({
    unix: opts.socketPath,
    async fetch(req) {
      const url = new URL(req.url);
      const token = req.headers.get("x-api-key");
      seen.push({ method: req.method, path: url.pathname + url.search, token });
      if (token !== opts.token) {
        refused++;
        return Response.json(
          { type: "error", error: { type: "authentication_error", message: "invalid proxy token" } },
          { status: 401 },
        );
      }
      const headers = new Headers(req.headers);
      headers.set("x-api-key", opts.realKey ?? "sk-fake-real-key");
      headers.delete("host");
      const res = await fetch(opts.upstream + url.pathname + url.search, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : req.body,
      });
      return new Response(res.body, { status: res.status, headers: res.headers });
    },
  });
  // The container's user must be able to connect.
  chmodSync(opts.socketPath, 0o666);
  return {
    socketPath: opts.socketPath,
    seen,
    get refused() {
      return refused;
    },
    async stop() {
      await server.stop(true);
      rmSync(opts.socketPath, { force: true });
    },
  };
}
