/**
 * The sink a channel pushes into: stores each inbound message (a duplicate id is a no-op), then
 * announces it with `message.stored` (the orchestrator reacts to that event); records chats the
 * bot can see (`chat.discovered`) and relays connection state (`channel.status`).
 */
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import type { Store } from "../store/index.ts";
import type { Channel, ChannelSink, InboundMessage } from "./channel.ts";
import type { PipelineHooks } from "./hooks.ts";

export interface SinkDeps {
  store: Store;
  events: EventBus;
  log: Logger;
  now: () => number;
  hooks?: Pick<PipelineHooks, "messageReceived" | "handles">;
}

export function createSink(channel: Channel, deps: SinkDeps): ChannelSink {
  const { store, events, log, now } = deps;
  return {
    async inbound(m: InboundMessage) {
      if (!m.id || !m.chatJid) throw new Error("inbound message needs an id and a chatJid");
      const known = store.messages.chat(m.chatJid) !== null;
      let msg = m;
      let dropped: string | null = null;
      // A redelivered message was seen by the plugins already (no second auto-reply).
      if (
        deps.hooks?.handles?.("message.received") !== false &&
        deps.hooks &&
        !store.messages.exists(m.chatJid, m.id)
      ) {
        const group = store.groups.get(m.chatJid);
        const chat = store.messages.chat(m.chatJid);
        const r = await deps.hooks.messageReceived({
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
          ...(chat ? { isDirect: !chat.isGroup } : {}),
        });
        if (r.action === "drop") dropped = `${r.plugin}: ${r.reason}`.slice(0, 500);
        else if (r.content !== m.content || (r.mentionsBot && !m.mentionsBot))
          msg = { ...m, content: r.content, ...(r.mentionsBot ? { mentionsBot: true } : {}) };
      }
      const seq = dropped
        ? store.turns.insertDropped(msg, dropped, now(), channel.name)
        : store.messages.insert(msg, now(), channel.name);
      if (seq === null) return false;
      if (!known && !store.groups.get(m.chatJid))
        events.emit("chat.discovered", { jid: m.chatJid, channel: channel.name });
      events.emit("message.stored", {
        seq,
        chatJid: m.chatJid,
        sender: m.sender,
        senderName: m.senderName,
        content: msg.content,
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
