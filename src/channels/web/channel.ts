/**
 * The built-in `web` channel (`web:<chatId>` jids): a webchat served by `ngb serve`, so the
 * whole loop works with no platform account. The store is the conversation: a POST stores the
 * user's message through the sink, and every stored message of a web chat (both sides) is
 * pushed to the chat's WebSocket subscribers from the `message.stored` event. `send` therefore
 * only checks the chat id: the delivery path stores the reply right after it returns.
 */
import type { Hono } from "hono";
import type { WSContext } from "hono/ws";
import * as v from "valibot";
import type { EventBus } from "../../events/index.ts";
import type { Logger } from "../../log/index.ts";
import type { Channel, ChannelSink } from "../../orchestrator/index.ts";
import type { Store } from "../../store/index.ts";
import { upgradeWebSocket } from "../../web/ws.ts";
import { ChannelError } from "../kit/errors.ts";
import { createHealth } from "../kit/health.ts";

export const WEB_PREFIX = "web:";

/** Not a web chat id: the request is wrong, sending again cannot help (permanent, kind refused). */
export class UnknownWebChatError extends ChannelError {
  override name = "UnknownWebChatError";
  constructor(readonly jid: string) {
    super("web", "refused", `not a web chat id: ${jid} (expected web:<1-64 letters, digits, - or _>)`);
  }
}
export const DEFAULT_CHAT_ID = "default";

const ChatId = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_-]{1,64}$/, "chatId must be 1-64 letters, digits, - or _"),
);

export const WebChatPost = v.object({
  chatId: v.optional(ChatId, DEFAULT_CHAT_ID),
  text: v.pipe(
    v.string(),
    v.trim(),
    v.minLength(1, "text must not be empty"),
    v.maxLength(32_000, "text is too long"),
  ),
  senderName: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(100))),
});
export type WebChatPost = v.InferOutput<typeof WebChatPost>;

/** What the WebSocket pushes. */
export type WebChatEvent =
  | {
      type: "message";
      chatJid: string;
      text: string;
      from: "assistant" | "user";
      seq: number;
      at: string;
      senderName: string;
    }
  | { type: "typing"; chatJid: string; on: boolean }
  /** Sent once on connect: the subscription is live (post after this to miss nothing). */
  | { type: "ready"; chatJid: string };

export interface WebChannelDeps {
  store: Store;
  events: EventBus;
  log: Logger;
  now?: () => number;
}

export interface WebChannel extends Channel {
  /** Mount `/api/webchat/*` on the app BEHIND its token auth (not `Channel.routes`, which is public). */
  mount(app: Hono): void;
  /** Open WebSocket subscribers (tests, metrics). */
  subscribers(chatJid?: string): number;
}

const jidOf = (chatId: string) => `${WEB_PREFIX}${chatId}`;

export function createWebChannel(deps: WebChannelDeps): WebChannel {
  const { store, events } = deps;
  const log = deps.log.withTag("webchat");
  const now = deps.now ?? Date.now;
  const clients = new Map<string, Set<WSContext>>();
  let sink: ChannelSink | null = null;
  let unsubscribe: (() => void) | null = null;
  const health = createHealth("web", { clock: { now } });
  let ids = 0;

  function push(chatJid: string, event: WebChatEvent): void {
    const set = clients.get(chatJid);
    if (!set || set.size === 0) return;
    const data = JSON.stringify(event);
    for (const ws of set) {
      try {
        ws.send(data);
      } catch {
        set.delete(ws);
      }
    }
  }

  const channel: WebChannel = {
    name: "web",
    ownsJid: (jid) => jid.startsWith(WEB_PREFIX),
    async connect(s) {
      sink = s;
      health.attach(s);
      unsubscribe = events.on("message.stored", (e) => {
        if (!e.chatJid.startsWith(WEB_PREFIX)) return;
        push(e.chatJid, {
          type: "message",
          chatJid: e.chatJid,
          text: e.content,
          from: e.isFromMe ? "assistant" : "user",
          seq: e.seq,
          at: new Date(e.timestamp).toISOString(),
          senderName: e.senderName,
        });
      });
      health.set({ state: "connected" });
    },
    async disconnect() {
      unsubscribe?.();
      unsubscribe = null;
      sink = null;
      for (const set of clients.values()) for (const ws of set) ws.close(1001, "server stopping");
      clients.clear();
      health.set({ state: "disconnected" });
    },
    async send(jid, _text, options) {
      if (!jid.startsWith(WEB_PREFIX) || !v.is(ChatId, jid.slice(WEB_PREFIX.length)))
        throw new UnknownWebChatError(jid);
      // The store is the conversation (delivery stores the reply): nothing to send per chunk.
      if ((options?.fromChunk ?? 0) === 0) options?.onChunkSent?.(0);
    },
    async setTyping(jid, on) {
      push(jid, { type: "typing", chatJid: jid, on });
    },
    health: () => health.snapshot(),
    subscribers(chatJid) {
      if (chatJid) return clients.get(chatJid)?.size ?? 0;
      let n = 0;
      for (const set of clients.values()) n += set.size;
      return n;
    },
    mount(app) {
      app.post("/api/webchat/messages", async (c) => {
        const body = await c.req.json().catch(() => undefined);
        const parsed = v.safeParse(WebChatPost, body);
        if (!parsed.success) {
          const issue = parsed.issues[0];
          const where = v.getDotPath(issue);
          return c.json(
            { error: "invalid_request", message: `${where ? `${where}: ` : ""}${issue.message}` },
            400,
          );
        }
        if (!sink) return c.json({ error: "unavailable", message: "the web channel is not connected" }, 503);
        const { chatId, text, senderName } = parsed.output;
        const chatJid = jidOf(chatId);
        const id = `web-${now().toString(36)}-${(++ids).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
        await sink.inbound({
          id,
          chatJid,
          sender: "web-user",
          senderName: senderName ?? "User",
          content: text,
          timestamp: now(),
        });
        return c.json({ chatJid, id, registered: store.groups.get(chatJid) !== null }, 201);
      });

      app.get("/api/webchat/messages", (c) => {
        const chatId = c.req.query("chatId") ?? DEFAULT_CHAT_ID;
        if (!v.is(ChatId, chatId))
          return c.json(
            { error: "invalid_request", message: "chatId must be 1-64 letters, digits, - or _" },
            400,
          );
        const after = Number(c.req.query("after") ?? 0);
        const limit = Number(c.req.query("limit") ?? 200);
        if (!Number.isInteger(after) || after < 0)
          return c.json(
            { error: "invalid_request", message: "after must be a message seq (integer ≥ 0)" },
            400,
          );
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
          return c.json(
            { error: "invalid_request", message: "limit must be an integer from 1 to 1000" },
            400,
          );
        const chatJid = jidOf(chatId);
        const messages = store.messages.since(chatJid, after, limit).map((m) => ({
          seq: m.seq,
          id: m.id,
          from: m.isFromMe ? "assistant" : "user",
          senderName: m.senderName,
          text: m.content,
          at: new Date(m.timestamp).toISOString(),
        }));
        return c.json({ chatJid, messages });
      });

      app.get(
        "/api/webchat/ws",
        upgradeWebSocket((c) => {
          const chatId = c.req.query("chatId") ?? DEFAULT_CHAT_ID;
          const chatJid = jidOf(v.is(ChatId, chatId) ? chatId : DEFAULT_CHAT_ID);
          return {
            onOpen(_evt, ws) {
              if (!v.is(ChatId, chatId)) {
                ws.close(1008, "invalid chatId");
                return;
              }
              let set = clients.get(chatJid);
              if (!set) {
                set = new Set();
                clients.set(chatJid, set);
              }
              set.add(ws);
              ws.send(JSON.stringify({ type: "ready", chatJid }));
            },
            onClose(_evt, ws) {
              const set = clients.get(chatJid);
              if (!set) return;
              for (const w of set) if (w.raw === ws.raw || w === ws) set.delete(w);
              if (set.size === 0) clients.delete(chatJid);
            },
            onError(evt) {
              log.debug("websocket error", { chatJid, error: String(evt) });
            },
          };
        }),
      );
    },
  };
  return channel;
}
