/**
 * Loopback TCP → the host's credential proxy over stdio (`NGB_PROXY_TRANSPORT=stdio`), for
 * engines that share no file system with the host. Each TCP connection of the Claude Code CLI
 * becomes a `proxy_open` frame and then `proxy_data`/`proxy_end` frames on stdout; the host
 * connects it to the proxy's socket and answers with frames on stdin. Bytes pass unchanged, so
 * keep-alive and streamed SSE responses work as with the socket forwarder.
 */
import { createServer, type Server, type Socket } from "node:net";
import { PROXY_MAX_CONNS, type ProxyStreamFrame } from "../../../src/protocol/index.ts";
import { createStreamMux } from "../../../src/protocol/stream-mux.ts";
import type { Forwarder } from "./proxy-forwarder.ts";
import type { FrameWriter, RunnerLog } from "./io.ts";

export interface StdioForwarder extends Forwarder {
  /** A proxy frame from the host (stdin). */
  receive(frame: ProxyStreamFrame): void;
}

export interface StdioForwarderOptions {
  write: FrameWriter;
  log: RunnerLog;
  maxConns?: number;
  windowBytes?: number;
}

function busyAnswer(max: number): string {
  const body = JSON.stringify({
    type: "error",
    error: { type: "overloaded_error", message: `ngb: more than ${max} model connections open at once` },
  });
  return `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

export function startStdioForwarder(options: StdioForwarderOptions): Promise<StdioForwarder> {
  const { write, log } = options;
  const maxConns = options.maxConns ?? PROXY_MAX_CONNS;
  const mux = createStreamMux({
    send: (frame) => write(frame),
    log: { warn: (m, d) => log.warn(m, d) },
    maxConns,
    ...(options.windowBytes ? { windowBytes: options.windowBytes } : {}),
  });
  let seq = 0;
  let stopped = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer({ noDelay: true }, (client) => {
    if (stopped) return void client.destroy();
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    if (mux.open >= maxConns) {
      log.warn("model connection refused: too many open", { max: maxConns });
      client.end(busyAnswer(maxConns));
      return;
    }
    const conn = ++seq;
    write({ type: "proxy_open", conn });
    mux.attach(conn, client);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      if (!addr || typeof addr === "string") return reject(new Error("forwarder: no TCP address"));
      server.off("error", reject);
      server.on("error", (err) => log.error("forwarder failed", { error: err.message }));
      resolve({
        url: `http://127.0.0.1:${addr.port}`,
        port: addr.port,
        get connections() {
          return seq;
        },
        receive: (frame) => mux.receive(frame),
        stop: () =>
          new Promise<void>((done) => {
            stopped = true;
            mux.closeAll("the session ended");
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
