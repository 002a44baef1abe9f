/**
 * The sink a channel pushes into: stores each inbound message (a duplicate id is a no-op), then
 * announces it with `message.stored` (the orchestrator reacts to that event); records chats the
 * bot can see (`chat.discovered`) and relays connection state (`channel.status`).
 */
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import type { Store } from "../store/index.ts";
import type { Channel, ChannelSink, InboundMessage } from "./channel.ts";

export interface SinkDeps {
  store: Store;
  events: EventBus;
  log: Logger;
  now: () => number;
}

export function createSink(channel: Channel, deps: SinkDeps): ChannelSink {
  const { store, events, log, now } = deps;
  return {
    async inbound(m: InboundMessage) {
      if (!m.id || !m.chatJid) throw new Error("inbound message needs an id and a chatJid");
      const known = store.messages.chat(m.chatJid) !== null;
      const seq = store.messages.insert(m, now(), channel.name);
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
      store.messages.discoverChat(chat, now(), channel.name);
      if (!known) events.emit("chat.discovered", { jid: chat.jid, name: chat.name, channel: channel.name });
    },
    status(update) {
      events.emit("channel.status", { channel: channel.name, ...update });
      if (update.state === "error") log.warn("channel error", { channel: channel.name, error: update.error });
    },
  };
}
