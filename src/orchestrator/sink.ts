/**
 * The sink a channel pushes into: stores each inbound message (a duplicate id is a no-op), then
 * announces it with `message.stored` (the orchestrator reacts to that event); records chats the
 * bot can see (`chat.discovered`) and relays connection state (`channel.status`).
 */
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import { noopHooks, type PipelineHooks } from "../plugins/index.ts";
import type { Store } from "../store/index.ts";
import type { Channel, ChannelSink, InboundMessage } from "./channel.ts";

export interface SinkDeps {
  store: Store;
  events: EventBus;
  log: Logger;
  now: () => number;
  /** plugins: the message.received hook (default: none). */
  hooks?: PipelineHooks;
}

export function createSink(channel: Channel, deps: SinkDeps): ChannelSink {
  const { store, events, log, now } = deps;
  const hooks = deps.hooks ?? noopHooks;
  // plugins: a redelivered id is a no-op before any hook runs (no second auto-reply, no double count).
  const stored = store.db.query<{ one: number }, [string, string]>(
    "SELECT 1 AS one FROM messages WHERE chat_jid = ? AND id = ?",
  );
  // plugins: message.received may rewrite, mark as addressed to the bot, or drop. Until the store
  // has columns for "dropped by <plugin>: <reason>", a dropped message is stored as a bot message
  // so it never reaches the agent, and the drop is logged.
  const active = () => hooks.handles?.("message.received") ?? true;
  async function received(m: InboundMessage): Promise<InboundMessage> {
    if (!active()) return m;
    const group = store.groups.get(m.chatJid);
    const out = await hooks.messageReceived({
      chatJid: m.chatJid,
      channel: channel.name,
      sender: m.sender,
      senderName: m.senderName,
      content: m.content,
      isFromMe: m.isFromMe === true,
      isBot: m.isBot === true,
      mentionsBot: m.mentionsBot === true,
      threadId: m.threadId,
      group: group ? { folder: group.folder, isMain: group.isMain } : undefined,
      isDirect: directChat(m.chatJid),
    });
    if (out.action === "drop") {
      log.info("message dropped by plugin", { chatJid: m.chatJid, plugin: out.plugin, reason: out.reason });
      return { ...m, isBot: true };
    }
    return { ...m, content: out.content, mentionsBot: m.mentionsBot === true || out.mentionsBot === true };
  }
  const directChat = (jid: string) => {
    const chat = store.messages.chat(jid);
    return chat ? !chat.isGroup : undefined;
  };

  return {
    async inbound(input: InboundMessage) {
      if (!input.id || !input.chatJid) throw new Error("inbound message needs an id and a chatJid");
      if (active() && stored.get(input.chatJid, input.id)) return false;
      const m = await received(input);
      const known = store.messages.chat(m.chatJid) !== null;
      const seq = store.messages.insert(m, now());
      if (seq === null) return false;
      if (!known && !store.groups.get(m.chatJid))
        events.emit("chat.discovered", { jid: m.chatJid, channel: channel.name });
      events.emit("message.stored", {
        seq,
        chatJid: m.chatJid,
        sender: m.sender,
        senderName: m.senderName,
        content: m.content,
        timestamp: m.timestamp,
        isFromMe: m.isFromMe === true,
        channel: channel.name,
      });
      return true;
    },
    discovered(chat) {
      const known = store.messages.chat(chat.jid) !== null;
      store.messages.discoverChat(chat, now());
      if (!known) events.emit("chat.discovered", { jid: chat.jid, name: chat.name, channel: channel.name });
    },
    status(update) {
      events.emit("channel.status", { channel: channel.name, ...update });
      if (update.state === "error") log.warn("channel error", { channel: channel.name, error: update.error });
    },
  };
}
