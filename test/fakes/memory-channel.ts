/**
 * An in-memory Channel (`mem:` chat ids) implementing the real interface: records what was
 * sent and the typing state, lets a test push inbound messages through the real sink, and can
 * be told to fail the next N sends. With `chunkLimit` it splits replies like a platform and
 * honours `fromChunk` / `onChunkSent`; with `dedupesSends` it behaves like a platform with
 * de-duplication (a chunk re-sent with the same idempotency key is accepted, not posted again).
 */
import { sendChunks, splitMessage } from "../../src/channels/kit/index.ts";
import type {
  Channel,
  ChannelHealth,
  ChannelSink,
  InboundMessage,
  SendOptions,
} from "../../src/orchestrator/channel.ts";

export interface MemorySent {
  jid: string;
  text: string;
  threadId?: string;
  idempotencyKey?: string;
  /** Chunk index, when the channel splits (`chunkLimit`). */
  chunk?: number;
}

export interface MemoryChannelOptions {
  /** Split replies at this many characters (default: never split). */
  chunkLimit?: number;
  /** Platform de-duplication by idempotency key and chunk. */
  dedupesSends?: boolean;
}

export interface MemoryChannel extends Channel {
  sent: MemorySent[];
  /** Every send() call with its options (replyToId, idempotencyKey, fromChunk…), failed ones too. */
  calls: { jid: string; text: string; options?: SendOptions }[];
  /** Re-sends the platform recognised and did not post again (dedupesSends). */
  deduplicated: string[];
  typing: { jid: string; on: boolean }[];
  failNext: number;
  /** The error a failing send throws (default: a plain Error, which delivery treats as transient). */
  failWith: () => Error;
  sink(): ChannelSink;
  /** Push a message in as the platform would; resolves to the sink's answer. */
  receive(chatJid: string, content: string, extra?: Partial<InboundMessage>): Promise<boolean>;
  /** Resolves once `n` messages have been sent in total. */
  waitForSent(n: number, timeoutMs?: number): Promise<MemorySent[]>;
}

let ids = 0;

export function createMemoryChannel(
  prefix = "mem:",
  name = "memory",
  options: MemoryChannelOptions = {},
): MemoryChannel {
  let sink: ChannelSink | null = null;
  const waiters: { n: number; resolve: () => void }[] = [];
  const accepted = new Set<string>();
  const ch: MemoryChannel = {
    name,
    ...(options.dedupesSends ? { dedupesSends: true } : {}),
    sent: [],
    calls: [],
    deduplicated: [],
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
    async send(jid, text, sendOptions) {
      ch.calls.push(sendOptions ? { jid, text, options: sendOptions } : { jid, text });
      const chunks = options.chunkLimit ? splitMessage(text, options.chunkLimit) : [text];
      await sendChunks(name, chunks, sendOptions, async (chunk, index) => {
        if (ch.failNext > 0) {
          ch.failNext--;
          throw ch.failWith();
        }
        const key = sendOptions?.idempotencyKey;
        if (options.dedupesSends && key !== undefined) {
          const k = `${key}#${index}`;
          if (accepted.has(k)) {
            ch.deduplicated.push(k);
            return;
          }
          accepted.add(k);
        }
        const entry: MemorySent = { jid, text: chunk };
        if (sendOptions?.threadId) entry.threadId = sendOptions.threadId;
        if (key !== undefined && options.dedupesSends) entry.idempotencyKey = key;
        if (options.chunkLimit) entry.chunk = index;
        ch.sent.push(entry);
        for (const w of waiters.splice(0)) {
          if (ch.sent.length >= w.n) w.resolve();
          else waiters.push(w);
        }
      });
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
