/**
 * Discord dispatch payloads → host shapes. Only the fields used are validated (valibot);
 * system messages (joins, pins…) carry no content and are skipped.
 */
import { ChannelType, MessageType } from "discord-api-types/v10";
import * as v from "valibot";
import type { Attachment, ChatInfo, InboundMessage } from "../../orchestrator/channel.ts";
import { authorship } from "../kit/authorship.ts";

export const DC_PREFIX = "dc:";

const Snowflake = v.pipe(v.string(), v.regex(/^\d{1,25}$/, "must be a snowflake id"));

export const DcMessage = v.object({
  id: Snowflake,
  channel_id: Snowflake,
  guild_id: v.optional(Snowflake),
  type: v.optional(v.number()),
  author: v.object({
    id: Snowflake,
    username: v.string(),
    global_name: v.optional(v.nullable(v.string())),
    bot: v.optional(v.boolean()),
  }),
  member: v.optional(v.object({ nick: v.optional(v.nullable(v.string())) })),
  content: v.string(),
  timestamp: v.string(),
  mentions: v.optional(v.array(v.object({ id: Snowflake }))),
  message_reference: v.optional(v.object({ message_id: v.optional(Snowflake) })),
  /** Echoed back on MESSAGE_CREATE when the sender set one (ours: recognises our own posts). */
  nonce: v.optional(v.union([v.string(), v.number()])),
  attachments: v.optional(
    v.array(
      v.object({
        filename: v.optional(v.string()),
        content_type: v.optional(v.string()),
        size: v.optional(v.number()),
        url: v.optional(v.string()),
      }),
    ),
  ),
});
export type DcMessage = v.InferOutput<typeof DcMessage>;

const DcChannel = v.object({ id: Snowflake, type: v.number(), name: v.optional(v.nullable(v.string())) });

export const DcGuildCreate = v.object({
  id: Snowflake,
  name: v.optional(v.string()),
  unavailable: v.optional(v.boolean()),
  channels: v.optional(v.array(DcChannel)),
  threads: v.optional(v.array(DcChannel)),
});

export const DcChannelCreate = v.object({
  id: Snowflake,
  type: v.number(),
  name: v.optional(v.nullable(v.string())),
  guild_id: v.optional(Snowflake),
});

const TEXT_TYPES = new Set<number>([
  ChannelType.GuildText,
  ChannelType.GuildAnnouncement,
  ChannelType.PublicThread,
  ChannelType.PrivateThread,
  ChannelType.AnnouncementThread,
]);
const CONTENT_TYPES = new Set<number>([MessageType.Default, MessageType.Reply]);

export function dcJid(channelId: string): string {
  return `${DC_PREFIX}${channelId}`;
}

function attachmentKind(contentType: string | undefined): Attachment["kind"] {
  if (contentType?.startsWith("image/")) return "image";
  if (contentType?.startsWith("audio/")) return "audio";
  if (contentType?.startsWith("video/")) return "video";
  return "file";
}

export interface BotUser {
  id: string;
  username?: string;
}

/** MESSAGE_CREATE → inbound message, or undefined for system messages with nothing to store. */
export function toInbound(
  m: DcMessage,
  bot: BotUser | undefined,
  displayName?: string,
): InboundMessage | undefined {
  if (m.type !== undefined && !CONTENT_TYPES.has(m.type)) return undefined;
  const attachments: Attachment[] = (m.attachments ?? []).map((a) => {
    const out: Attachment = { kind: attachmentKind(a.content_type) };
    if (a.filename) out.name = a.filename;
    if (a.content_type) out.mimeType = a.content_type;
    if (a.url) out.url = a.url;
    if (a.size !== undefined) out.size = a.size;
    return out;
  });
  let content = m.content;
  if (content.length === 0 && attachments.length === 0) return undefined;
  let mentionsBot = false;
  if (bot) {
    const tag = new RegExp(`<@!?${bot.id}>`, "g");
    mentionsBot = m.mentions?.some((u) => u.id === bot.id) === true || tag.test(content);
    // Show the agent a readable name instead of the raw <@id> tag.
    const name = displayName ?? bot.username;
    if (name) content = content.replace(tag, `@${name}`);
  }
  if (!m.guild_id) mentionsBot = true; // a DM is addressed to the bot
  const ts = Date.parse(m.timestamp);
  const msg: InboundMessage = {
    id: m.id,
    chatJid: dcJid(m.channel_id),
    sender: m.author.id,
    senderName: m.member?.nick || m.author.global_name || m.author.username,
    content,
    timestamp: Number.isFinite(ts) ? ts : Date.now(),
  };
  Object.assign(msg, authorship({ ours: bot !== undefined && m.author.id === bot.id, bot: m.author.bot }));
  if (mentionsBot) msg.mentionsBot = true;
  if (m.message_reference?.message_id) msg.replyToId = m.message_reference.message_id;
  if (attachments.length > 0) msg.attachments = attachments;
  return msg;
}

/** Text channels (and threads) of a guild the bot can see, for discovery. */
export function guildChats(g: v.InferOutput<typeof DcGuildCreate>): ChatInfo[] {
  const out: ChatInfo[] = [];
  for (const c of [...(g.channels ?? []), ...(g.threads ?? [])]) {
    if (!TEXT_TYPES.has(c.type)) continue;
    out.push({
      jid: dcJid(c.id),
      name: g.name ? `${g.name} #${c.name ?? c.id}` : `#${c.name ?? c.id}`,
      isGroup: true,
    });
  }
  return out;
}

/** CHANNEL_CREATE / THREAD_CREATE → a chat, when it is one we can talk in. */
export function createdChat(c: v.InferOutput<typeof DcChannelCreate>): ChatInfo | undefined {
  if (c.type === ChannelType.DM) return { jid: dcJid(c.id), name: c.name ?? undefined, isGroup: false };
  if (!TEXT_TYPES.has(c.type)) return undefined;
  return { jid: dcJid(c.id), name: c.name ? `#${c.name}` : undefined, isGroup: true };
}
