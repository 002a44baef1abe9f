/**
 * Telegram update → host shapes. Only the fields the host uses are validated (valibot); the
 * rest of Telegram's rich objects pass through untouched. A payload that fails validation is
 * reported with the path of the first bad field and skipped by the caller.
 */
import * as v from "valibot";
import type { Attachment, ChatInfo, InboundMessage } from "../../orchestrator/channel.ts";
import { authorship } from "../kit/authorship.ts";

export const TG_PREFIX = "tg:";

const Int = v.pipe(v.number(), v.integer());

const TgUser = v.object({
  id: Int,
  is_bot: v.optional(v.boolean()),
  first_name: v.optional(v.string()),
  last_name: v.optional(v.string()),
  username: v.optional(v.string()),
});

const TgChat = v.object({
  id: Int,
  type: v.string(),
  title: v.optional(v.string()),
  username: v.optional(v.string()),
  first_name: v.optional(v.string()),
  last_name: v.optional(v.string()),
});

const TgEntity = v.object({
  type: v.string(),
  offset: Int,
  length: Int,
  user: v.optional(v.object({ id: Int })),
});

const TgFile = v.object({
  file_id: v.optional(v.string()),
  file_name: v.optional(v.string()),
  mime_type: v.optional(v.string()),
  file_size: v.optional(v.number()),
});

export const TgMessage = v.object({
  message_id: Int,
  date: Int,
  chat: TgChat,
  from: v.optional(TgUser),
  sender_chat: v.optional(v.object({ id: Int, title: v.optional(v.string()) })),
  text: v.optional(v.string()),
  caption: v.optional(v.string()),
  entities: v.optional(v.array(TgEntity)),
  caption_entities: v.optional(v.array(TgEntity)),
  reply_to_message: v.optional(v.object({ message_id: Int, from: v.optional(v.object({ id: Int })) })),
  message_thread_id: v.optional(Int),
  is_topic_message: v.optional(v.boolean()),
  photo: v.optional(v.array(TgFile)),
  document: v.optional(TgFile),
  video: v.optional(TgFile),
  audio: v.optional(TgFile),
  voice: v.optional(TgFile),
  new_chat_members: v.optional(v.array(TgUser)),
});
export type TgMessage = v.InferOutput<typeof TgMessage>;

export const TgUpdate = v.object({
  update_id: Int,
  message: v.optional(TgMessage),
  channel_post: v.optional(TgMessage),
  my_chat_member: v.optional(
    v.object({
      chat: TgChat,
      new_chat_member: v.object({ status: v.string(), user: TgUser }),
    }),
  ),
});
export type TgUpdate = v.InferOutput<typeof TgUpdate>;

/** What the bot knows about itself (from getMe), for mentions and isFromMe. */
export interface BotIdentity {
  id: number;
  username?: string;
}

/** The result of mapping one update. */
export interface MappedUpdate {
  message?: InboundMessage;
  discovered?: ChatInfo;
}

/** First issue of a failed parse as "path: message". */
export function describeIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return "invalid";
  const path = issue.path?.map((p) => String(p.key)).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}

export function chatJid(chatId: number | string): string {
  return `${TG_PREFIX}${chatId}`;
}

export function chatInfo(chat: v.InferOutput<typeof TgChat>): ChatInfo {
  const name =
    chat.title ??
    ([chat.first_name, chat.last_name].filter(Boolean).join(" ") ||
      (chat.username ? `@${chat.username}` : ""));
  return { jid: chatJid(chat.id), name: name || undefined, isGroup: chat.type !== "private" };
}

function attachmentsOf(m: TgMessage): Attachment[] {
  const out: Attachment[] = [];
  const largest = m.photo?.at(-1);
  if (largest) out.push({ kind: "image", size: largest.file_size });
  const add = (kind: Attachment["kind"], f: v.InferOutput<typeof TgFile> | undefined) => {
    if (!f) return;
    const a: Attachment = { kind };
    if (f.file_name) a.name = f.file_name;
    if (f.mime_type) a.mimeType = f.mime_type;
    if (f.file_size !== undefined) a.size = f.file_size;
    out.push(a);
  };
  add("file", m.document);
  add("video", m.video);
  add("audio", m.audio);
  add("audio", m.voice);
  return out;
}

function mentions(m: TgMessage, bot: BotIdentity): boolean {
  if (m.chat.type === "private") return true; // everything in a DM is addressed to the bot
  if (m.reply_to_message?.from?.id === bot.id) return true;
  const text = m.text ?? m.caption ?? "";
  const entities = m.entities ?? m.caption_entities ?? [];
  const handle = bot.username ? `@${bot.username.toLowerCase()}` : undefined;
  for (const e of entities) {
    if (e.type === "text_mention" && e.user?.id === bot.id) return true;
    if (!handle) continue;
    const slice = text.slice(e.offset, e.offset + e.length).toLowerCase();
    if (e.type === "mention" && slice === handle) return true;
    if (e.type === "bot_command" && slice.endsWith(handle)) return true;
  }
  return false;
}

/** Map a validated message to an inbound message, or undefined when it carries nothing to store. */
export function toInbound(m: TgMessage, bot: BotIdentity): InboundMessage | undefined {
  const attachments = attachmentsOf(m);
  const content = m.text ?? m.caption ?? "";
  if (content.length === 0 && attachments.length === 0) return undefined; // service message
  const from = m.from;
  const sender = from ? String(from.id) : m.sender_chat ? String(m.sender_chat.id) : String(m.chat.id);
  const senderName = from
    ? [from.first_name, from.last_name].filter(Boolean).join(" ") || from.username || sender
    : (m.sender_chat?.title ?? m.chat.title ?? sender);
  const msg: InboundMessage = {
    id: String(m.message_id),
    chatJid: chatJid(m.chat.id),
    sender,
    senderName,
    content,
    timestamp: m.date * 1000,
  };
  // Telegram does not deliver a bot's own messages to it; the rule still holds if one arrives.
  Object.assign(msg, authorship({ ours: from?.id === bot.id, bot: from?.is_bot === true }));
  if (mentions(m, bot)) msg.mentionsBot = true;
  if (m.is_topic_message && m.message_thread_id !== undefined) msg.threadId = String(m.message_thread_id);
  if (m.reply_to_message) msg.replyToId = String(m.reply_to_message.message_id);
  if (attachments.length > 0) msg.attachments = attachments;
  return msg;
}

const JOINED = new Set(["member", "administrator", "creator", "restricted"]);

/** Map one validated update. */
export function mapUpdate(u: TgUpdate, bot: BotIdentity): MappedUpdate {
  const m = u.message ?? u.channel_post;
  if (m) {
    const out: MappedUpdate = {};
    if (m.new_chat_members?.some((member) => member.id === bot.id)) out.discovered = chatInfo(m.chat);
    const inbound = toInbound(m, bot);
    if (inbound) out.message = inbound;
    return out;
  }
  const cm = u.my_chat_member;
  if (cm && cm.new_chat_member.user.id === bot.id && JOINED.has(cm.new_chat_member.status)) {
    return { discovered: chatInfo(cm.chat) };
  }
  return {};
}
