/**
 * The host's end of model traffic over stdio (`container.transport: "stdio"`): each
 * `proxy_open` of the agent becomes a local connection to the credential proxy's unix socket,
 * so the proxy's token check, path filter and usage accounting apply exactly as for a mounted
 * socket. Frames are handled synchronously and never awaited: a slow connection cannot hold up
 * the run's stdout loop (the credit window in stream-mux bounds what waits).
 */
import { connect, type Socket } from "node:net";
import { PROXY_MAX_CONNS, type ProxyOpenFrame, type ProxyStreamFrame } from "../protocol/index.ts";
import { createStreamMux, type MuxLog, type StreamMux } from "../protocol/stream-mux.ts";

export interface ProxyBridge {
  handle(frame: ProxyOpenFrame | ProxyStreamFrame): void;
  close(reason: string): void;
  readonly stats: StreamMux["stats"];
}

export interface ProxyBridgeOptions {
  socketPath: string;
  send(frame: ProxyStreamFrame): void;
  log: MuxLog;
  maxConns?: number;
  windowBytes?: number;
  /** Opens the local connection (tests inject one). */
  connect?: (socketPath: string) => Socket;
}

export function createProxyBridge(options: ProxyBridgeOptions): ProxyBridge {
  const { socketPath, send, log } = options;
  const maxConns = options.maxConns ?? PROXY_MAX_CONNS;
  const open = options.connect ?? ((path: string) => connect({ path }));
  const mux = createStreamMux({
    send,
    log,
    maxConns,
    ...(options.windowBytes ? { windowBytes: options.windowBytes } : {}),
  });
  return {
    handle(frame) {
      if (frame.type !== "proxy_open") return mux.receive(frame);
      if (mux.has(frame.conn) || mux.open >= maxConns) {
        log.warn("agent proxy connection refused", { conn: frame.conn, open: mux.open, max: maxConns });
        send({
          type: "proxy_end",
          conn: frame.conn,
          error: mux.has(frame.conn) ? "connection id in use" : `more than ${maxConns} connections`,
        });
        return;
      }
      mux.attach(frame.conn, open(socketPath));
    },
    close: (reason) => mux.closeAll(reason),
    stats: mux.stats,
  };
}
