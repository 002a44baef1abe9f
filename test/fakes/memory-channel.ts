/**
 * An in-memory Channel (`mem:` chat ids) implementing the real interface: records what was
 * sent and the typing state, lets a test push inbound messages through the real sink, and can
 * be told to fail the next N sends.
 */
import type { Channel, ChannelHealth, ChannelSink, InboundMessage } from "../../src/orchestrator/channel.ts";

export interface MemoryChannel extends Channel {
  sent: { jid: string; text: string; threadId?: string; replyToId?: string }[];
  /** Every send attempt's options (idempotency key, chunk resume), in order. */
  attempts: {
    jid: string;
    text: string;
    options?: import("../../src/orchestrator/channel.ts").SendOptions;
  }[];
  /** Called inside send, before it returns (a test can crash or block here). */
  onSend?: (jid: string, text: string) => void | Promise<void>;
  typing: { jid: string; on: boolean }[];
  failNext: number;
  /** The error a failing send throws (default: a plain Error, which delivery treats as transient). */
  failWith: () => Error;
  sink(): ChannelSink;
  /** Push a message in as the platform would; resolves to the sink's answer. */
  receive(chatJid: string, content: string, extra?: Partial<InboundMessage>): Promise<boolean>;
  /** Resolves once `n` messages have been sent in total. */
  waitForSent(
    n: number,
    timeoutMs?: number,
  ): Promise<{ jid: string; text: string; threadId?: string; replyToId?: string }[]>;
}

let ids = 0;

export function createMemoryChannel(prefix = "mem:", name = "memory"): MemoryChannel {
  let sink: ChannelSink | null = null;
  const waiters: { n: number; resolve: () => void }[] = [];
  const ch: MemoryChannel = {
    name,
    sent: [],
    attempts: [],
    typing: [],
    failNext: 0,
    failWith: () => new Error("platform said no"),
    ownsJid: (jid) => jid.startsWith(prefix),
    async connect(s) {
      sink = s;
      s.status({ state: "connected" });
    },
    async disconnect() {
      sink = null;
    },
    async send(jid, text, options) {
      ch.attempts.push({ jid, text, options });
      if (ch.failNext > 0) {
        ch.failNext--;
        throw ch.failWith();
      }
      await ch.onSend?.(jid, text);
      ch.sent.push({
        jid,
        text,
        ...(options?.threadId ? { threadId: options.threadId } : {}),
        ...(options?.replyToId ? { replyToId: options.replyToId } : {}),
      });
      for (const w of waiters.splice(0)) {
        if (ch.sent.length >= w.n) w.resolve();
        else waiters.push(w);
      }
    },
    async setTyping(jid, on) {
      ch.typing.push({ jid, on });
    },
    health: (): ChannelHealth => ({ name, state: sink ? "connected" : "disconnected" }),
    sink() {
      if (!sink) throw new Error("memory channel not connected");
      return sink;
    },
    receive(chatJid, content, extra = {}) {
      return ch.sink().inbound({
        id: `m${++ids}`,
        chatJid,
        sender: "u1",
        senderName: "User",
        content,
        timestamp: Date.now(),
        ...extra,
      });
    },
    waitForSent(n, timeoutMs = 5000) {
      if (ch.sent.length >= n) return Promise.resolve(ch.sent);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${n} sends (have ${ch.sent.length})`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(ch.sent);
          },
        });
      });
    },
  };
  return ch;
}
