/**
 * Loopback TCP → unix socket forwarder. The container runs with `--network none`; the host's
 * credential proxy is reachable only through the unix socket mounted at /run/ngb/proxy.sock.
 * The Claude Code CLI speaks plain HTTP to `http://127.0.0.1:<port>`; each TCP connection is
 * piped byte for byte to a new connection on the socket, so keep-alive and streamed SSE
 * responses pass through unchanged and unbuffered.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import type { RunnerLog } from "./io.ts";

export interface Forwarder {
  url: string;
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

export function startForwarder(socketPath: string, log: RunnerLog): Promise<Forwarder> {
  const open = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer({ noDelay: true }, (client) => {
    connections++;
    const upstream = connect(socketPath);
    open.add(client);
    open.add(upstream);
    client.setNoDelay(true);
    const cleanup = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    upstream.on("error", (err) => {
      log.warn("proxy socket connection failed", { socket: socketPath, error: err.message });
      if (!client.destroyed && client.writable && upstream.bytesRead === 0) {
        // Answer like a gateway so the CLI reports a clear error instead of a reset.
        const body = JSON.stringify({
          type: "error",
          error: {
            type: "api_error",
            message: `ngb credential proxy unreachable at ${socketPath}: ${err.message}`,
          },
        });
        client.end(
          `HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      }
      cleanup();
    });
    client.on("error", cleanup);
    client.on("close", cleanup);
    upstream.on("close", () => {
      if (!client.destroyed) client.end();
      open.delete(upstream);
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      if (!addr || typeof addr === "string") return reject(new Error("forwarder: no TCP address"));
      server.off("error", reject);
      server.on("error", (err) => log.error("forwarder failed", { error: err.message }));
      const port = addr.port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        get connections() {
          return connections;
        },
        stop: () =>
          new Promise<void>((done) => {
            for (const s of open) s.destroy();
            open.clear();
            server.close(() => done());
          }),
      });
    });
  });
}
