/**
 * The channel contract, owned by the orchestrator. Every platform adapter (and the built-in web
 * channel) implements `Channel`; the orchestrator only ever talks to this interface and never
 * imports an adapter.
 */

import type { Hono } from "hono";

/** A platform event normalized for the store. `id` must be stable across redeliveries. */
export interface InboundMessage {
  /** Platform message id, unique within the chat. A redelivered id is a no-op. */
  id: string;
  chatJid: string;
  sender: string;
  senderName: string;
  content: string;
  /** Epoch milliseconds. */
  timestamp: number;
  /**
   * Posted by this bot account (the platform's echo of our own post, or one from an earlier
   * run): stored, never triggers, never agent input. Always set together with `isBot` (the kit's
   * `authorship()` is the one rule).
   */
  isFromMe?: boolean;
  /** Written by a bot (ours, or another bot's post): never agent input. */
  isBot?: boolean;
  /** The bot was @-mentioned (maps to the trigger even if the text lacks it). */
  mentionsBot?: boolean;
  /** Thread / topic id where the platform has one (Slack thread_ts, Telegram topic). */
  threadId?: string;
  replyToId?: string;
  attachments?: Attachment[];
}

export interface Attachment {
  kind: "image" | "audio" | "video" | "file";
  name?: string;
  mimeType?: string;
  url?: string;
  size?: number;
}

/** A chat the bot can see (for discovery); stored even when not registered. */
export interface ChatInfo {
  jid: string;
  name?: string;
  isGroup?: boolean;
}

/** What a channel gets to push events into the host. */
export interface ChannelSink {
  /**
   * Store one inbound message. Resolves once it is durably stored (so a channel may then
   * advance its platform offset / ack). Duplicate ids resolve with `false`.
   */
  inbound(message: InboundMessage): Promise<boolean>;
  /** Record that a chat exists (e.g. the bot was added to it). */
  discovered(chat: ChatInfo): void;
  /** Connection state changes, for health and live events. */
  status(update: ChannelStatusUpdate): void;
}

export interface ChannelStatusUpdate {
  state: "connecting" | "connected" | "disconnected" | "error";
  error?: string;
  /** Pairing QR (WhatsApp) to show on the dashboard / terminal. */
  qr?: string;
}

export interface SendOptions {
  /** Reply inside this thread / topic. */
  threadId?: string;
  /**
   * Stored id of the message this reply answers; adapters quote it where configured
   * (Telegram reply_parameters, Discord message_reference, Slack thread).
   */
  replyToId?: string;
  /**
   * Stable identity of this reply, the same on every re-send after a crash. Adapters with
   * platform de-duplication use it: Discord `nonce` (derived per chunk) with `enforce_nonce`;
   * WhatsApp a client-chosen message id.
   */
  idempotencyKey?: string;
  /** Resume a partly sent multi-chunk reply: chunks before this index were already accepted. */
  fromChunk?: number;
  /** Called after the platform accepted chunk `index` (0-based), before the next is sent. */
  onChunkSent?: (index: number) => void;
}

export interface ChannelHealth {
  name: string;
  state: ChannelStatusUpdate["state"];
  connectedSince?: number;
  lastError?: string;
  lastErrorAt?: number;
  qr?: string;
}

export interface Channel {
  /** Short name, also the config section: "telegram", "discord", "web"… */
  readonly name: string;
  /** JID prefix this channel owns ("tg:", "dc:", "web:"), or a predicate. */
  ownsJid(jid: string): boolean;
  connect(sink: ChannelSink): Promise<void>;
  disconnect(): Promise<void>;
  /**
   * The platform de-duplicates a re-send carrying the same idempotencyKey (safe to re-send
   * after a crash).
   */
  readonly dedupesSends?: boolean;
  /**
   * Send text; the adapter splits to the platform limit (deterministically, so `fromChunk`
   * names the same chunk on a re-send). Throws a ChannelError on failure.
   */
  send(jid: string, text: string, options?: SendOptions): Promise<void>;
  /** Show / refresh a typing indicator; best effort, never throws. */
  setTyping?(jid: string, on: boolean): Promise<void>;
  health(): ChannelHealth;
  /** Verify credentials without starting to receive (for `ngb doctor`). */
  verify?(): Promise<{ ok: boolean; detail: string }>;
  /**
   * HTTP routes the platform calls (webhooks), with their full paths, for the runtime to mount
   * on the web server outside token auth (each route authenticates its caller itself).
   */
  readonly webhooks?: Hono;
}
