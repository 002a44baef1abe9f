/**
 * Connections carried over the stdio frames (`proxy_*`, see index.ts): both ends use this one
 * multiplexer. Each local socket (the CLI's TCP connection in the container, the credential
 * proxy's unix socket on the host) is attached under a connection id; its bytes leave as
 * `proxy_data` frames, the peer's frames are written into it.
 *
 * Flow control never blocks a stdio loop: a side stops reading its local socket once
 * PROXY_WINDOW_BYTES it sent are unacknowledged, and acknowledges what it received once its
 * local socket flushed it. A peer that ignores the window (more than two windows waiting) is
 * cut off, so memory per connection stays bounded.
 */
import type { Socket } from "node:net";
import { PROXY_CHUNK_BYTES, PROXY_MAX_CONNS, PROXY_WINDOW_BYTES, type ProxyStreamFrame } from "./index.ts";

export interface MuxLog {
  debug?(msg: string, details?: Record<string, unknown>): void;
  warn(msg: string, details?: Record<string, unknown>): void;
}

export interface StreamMuxOptions {
  /** Sends one frame to the peer (synchronous or fire-and-forget; never awaited). */
  send(frame: ProxyStreamFrame): void;
  log: MuxLog;
  maxConns?: number;
  windowBytes?: number;
  chunkBytes?: number;
}

export interface StreamMux {
  /** Carries `socket` as connection `conn`; false (socket destroyed) when over the limit or taken. */
  attach(conn: number, socket: Socket): boolean;
  /** A frame of the peer. Unknown connections are answered with `proxy_end` once. */
  receive(frame: ProxyStreamFrame): void;
  has(conn: number): boolean;
  readonly open: number;
  /** Bytes carried so far, each direction. */
  readonly stats: { sent: number; received: number; conns: number };
  /** Ends every connection (the peer is gone). */
  closeAll(reason: string): void;
}

interface Conn {
  socket: Socket;
  /** Bytes we sent and the peer did not acknowledge yet. */
  unacked: number;
  /** Bytes the peer sent that our socket has not flushed yet. */
  pending: number;
  paused: boolean;
  /** Read from the socket but not sent yet (the window was full); at most one read's worth. */
  queue: Buffer[];
  /** The socket ended while data was still queued: send `proxy_end` after it. */
  endQueued: boolean;
  sentEnd: boolean;
  gotEnd: boolean;
}

export function createStreamMux(options: StreamMuxOptions): StreamMux {
  const { send, log } = options;
  const maxConns = options.maxConns ?? PROXY_MAX_CONNS;
  const windowBytes = options.windowBytes ?? PROXY_WINDOW_BYTES;
  const chunkBytes = options.chunkBytes ?? PROXY_CHUNK_BYTES;
  const conns = new Map<number, Conn>();
  const stats = { sent: 0, received: 0, conns: 0 };

  const sendEnd = (id: number, c: Conn | undefined, error?: string) => {
    if (c?.sentEnd) return;
    if (c) c.sentEnd = true;
    send({ type: "proxy_end", conn: id, ...(error ? { error: error.slice(0, 500) } : {}) });
  };

  const drop = (id: number, c: Conn) => {
    if (conns.get(id) !== c) return;
    conns.delete(id);
    c.socket.destroy();
  };

  /** Sends queued bytes while the window allows; pauses or resumes the socket accordingly. */
  const pump = (id: number, c: Conn) => {
    while (c.queue.length > 0 && c.unacked < windowBytes) {
      const head = c.queue[0] as Buffer;
      const room = Math.min(chunkBytes, windowBytes - c.unacked);
      const piece = head.subarray(0, room);
      if (piece.length === head.length) c.queue.shift();
      else c.queue[0] = head.subarray(piece.length);
      c.unacked += piece.length;
      stats.sent += piece.length;
      send({ type: "proxy_data", conn: id, b64: piece.toString("base64") });
    }
    if (c.queue.length === 0 && c.endQueued) {
      c.endQueued = false;
      sendEnd(id, c);
    }
    const full = c.queue.length > 0 || c.unacked >= windowBytes;
    if (full && !c.paused) {
      c.paused = true;
      c.socket.pause();
    } else if (!full && c.paused) {
      c.paused = false;
      c.socket.resume();
    }
  };

  return {
    attach(id, socket) {
      if (conns.has(id) || conns.size >= maxConns) {
        socket.destroy();
        return false;
      }
      const c: Conn = {
        socket,
        unacked: 0,
        pending: 0,
        paused: false,
        queue: [],
        endQueued: false,
        sentEnd: false,
        gotEnd: false,
      };
      conns.set(id, c);
      stats.conns++;
      socket.on("data", (data: Buffer) => {
        if (conns.get(id) !== c) return;
        c.queue.push(data);
        pump(id, c);
      });
      socket.on("end", () => {
        if (conns.get(id) !== c) return;
        if (c.queue.length > 0) c.endQueued = true;
        else sendEnd(id, c);
      });
      socket.on("error", (err) => {
        log.debug?.("proxied connection failed", { conn: id, error: err.message });
        if (conns.get(id) === c) sendEnd(id, c, err.message);
      });
      socket.on("close", () => {
        if (conns.get(id) !== c) return;
        // Bytes still queued were read before the close: they go out first.
        if (c.queue.length > 0) {
          c.endQueued = true;
          return;
        }
        sendEnd(id, c);
        conns.delete(id);
      });
      return true;
    },
    receive(frame) {
      const id = frame.conn;
      const c = conns.get(id);
      if (!c) {
        // Late frames of a connection that already ended; answer data so the peer stops.
        if (frame.type === "proxy_data") send({ type: "proxy_end", conn: id, error: "no such connection" });
        return;
      }
      if (frame.type === "proxy_ack") {
        c.unacked = Math.max(0, c.unacked - frame.bytes);
        pump(id, c);
        if (c.sentEnd && c.queue.length === 0 && c.socket.destroyed) conns.delete(id);
      } else if (frame.type === "proxy_end") {
        c.gotEnd = true;
        if (frame.error)
          log.debug?.("peer ended the connection with an error", { conn: id, error: frame.error });
        // Flush what was written, then close our side; the socket's close removes the entry.
        if (frame.error) drop(id, c);
        else c.socket.end();
      } else {
        const data = Buffer.from(frame.b64, "base64");
        if (data.length === 0) return;
        if (c.gotEnd) return;
        c.pending += data.length;
        stats.received += data.length;
        if (c.pending > 2 * windowBytes) {
          log.warn("proxied connection ignored its window, cut off", { conn: id, pending: c.pending });
          sendEnd(id, c, "flow-control window exceeded");
          drop(id, c);
          return;
        }
        c.socket.write(data, (err) => {
          c.pending -= data.length;
          if (!err && conns.get(id) === c) send({ type: "proxy_ack", conn: id, bytes: data.length });
        });
      }
    },
    has: (id) => conns.has(id),
    get open() {
      return conns.size;
    },
    stats,
    closeAll(reason) {
      for (const [id, c] of conns) {
        log.debug?.("closing proxied connection", { conn: id, reason });
        conns.delete(id);
        c.socket.destroy();
      }
    },
  };
}
