/**
 * DingTalk robot messages (the `data` of topic `/v1.0/im/bot/messages/get`) → InboundMessage,
 * and the channel's chat ids. Pure functions, no I/O.
 *
 * JIDs: a group is `dingtalk:group:<conversationId>` (the openConversationId that
 * `groupMessages/send` takes); a 1:1 chat is `dingtalk:user:<senderStaffId>` (the userId that
 * `oToMessages/batchSend` takes). An external user has no staffId: the chat is keyed by the
 * encrypted `senderId` (`$:LWCP_v1:$…`) and can only be answered through a session webhook.
 */
import * as v from "valibot";
import type { Attachment, ChatInfo, InboundMessage } from "../../orchestrator/channel.ts";
import { authorship } from "../kit/index.ts";

export const JID_PREFIX = "dingtalk:";
/** Stored content is cut here (a robot message is far shorter; this bounds a hostile one). */
export const MAX_CONTENT_CHARS = 20_000;

const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(512));

const AtUser = v.object({ dingtalkId: v.optional(v.string()), staffId: v.optional(v.string()) });

export const RobotMessage = v.object({
  msgId: Id,
  msgtype: v.pipe(v.string(), v.maxLength(64)),
  conversationId: Id,
  conversationType: v.pipe(
    v.union([v.string(), v.number()]),
    v.transform(String),
    v.picklist(["1", "2"], 'conversationType must be "1" (1:1) or "2" (group)'),
  ),
  conversationTitle: v.optional(v.string()),
  senderId: v.optional(v.string()),
  senderStaffId: v.optional(v.string()),
  senderNick: v.optional(v.string()),
  chatbotUserId: v.optional(v.string()),
  robotCode: v.optional(v.string()),
  isInAtList: v.optional(v.boolean()),
  atUsers: v.optional(v.array(AtUser)),
  sessionWebhook: v.optional(v.string()),
  sessionWebhookExpiredTime: v.optional(v.number()),
  createAt: v.optional(v.number()),
  text: v.optional(v.object({ content: v.optional(v.string(), "") })),
  content: v.optional(v.unknown()),
});
export type RobotMessage = v.InferOutput<typeof RobotMessage>;

export type DingTalkTarget = { kind: "group"; id: string } | { kind: "user"; id: string };

export function groupJid(conversationId: string): string {
  return `${JID_PREFIX}group:${conversationId}`;
}
export function userJid(userId: string): string {
  return `${JID_PREFIX}user:${userId}`;
}

/** `dingtalk:group:<cid>` / `dingtalk:user:<id>` → target; anything else → null. */
export function parseJid(jid: string): DingTalkTarget | null {
  const m = /^dingtalk:(group|user):(.+)$/.exec(jid);
  if (!m) return null;
  return { kind: m[1] as "group" | "user", id: m[2]! };
}

/** An encrypted sender id (external user, no staffId): OpenAPI 1:1 sends cannot reach it. */
export function isEncryptedUserId(id: string): boolean {
  return id.startsWith("$:LWCP");
}

/** How to answer this chat without OpenAPI ids: the message's session webhook and its expiry. */
export interface SessionWebhook {
  url: string;
  /** Epoch ms. */
  expiresAt: number;
}

export type Mapped =
  | {
      kind: "message";
      message: InboundMessage;
      chat: ChatInfo;
      webhook?: SessionWebhook;
      /** The text was longer than MAX_CONTENT_CHARS and was cut. */
      truncated: boolean;
    }
  | { kind: "ignored"; reason: string };

export interface MapContext {
  assistantName: string;
  /** Epoch ms, for messages without createAt. */
  now: number;
}

/** Text of a rich-text message plus its pictures. */
function richText(content: unknown): { text: string; attachments: Attachment[] } {
  const items = (content as { richText?: unknown } | null)?.richText;
  const parts: string[] = [];
  const attachments: Attachment[] = [];
  if (Array.isArray(items)) {
    for (const item of items.slice(0, 500)) {
      if (item && typeof item === "object") {
        const it = item as { text?: unknown; downloadCode?: unknown; type?: unknown };
        if (typeof it.text === "string") parts.push(it.text);
        else if (typeof it.downloadCode === "string" || it.type === "picture") {
          attachments.push({ kind: "image" });
          parts.push("[image]");
        }
      }
    }
  }
  return { text: parts.join("").trim(), attachments };
}

/** Text and attachments of any message type; unknown types become a placeholder. */
function body(msg: RobotMessage): { text: string; attachments: Attachment[] } {
  const c = (msg.content ?? {}) as Record<string, unknown>;
  switch (msg.msgtype) {
    case "text":
      return { text: (msg.text?.content ?? "").trim(), attachments: [] };
    case "richText":
      return richText(msg.content);
    case "picture":
      return { text: "[image]", attachments: [{ kind: "image" }] };
    case "audio":
      // DingTalk transcribes voice messages; the recognition is the useful part.
      return {
        text: typeof c.recognition === "string" && c.recognition ? c.recognition : "[voice message]",
        attachments: [{ kind: "audio" }],
      };
    case "video":
      return { text: "[video]", attachments: [{ kind: "video" }] };
    case "file": {
      const name = typeof c.fileName === "string" ? c.fileName : undefined;
      return {
        text: `[file${name ? `: ${name}` : ""}]`,
        attachments: [{ kind: "file", ...(name ? { name } : {}) }],
      };
    }
    default:
      return { text: `[${msg.msgtype} message]`, attachments: [] };
  }
}

/** Map one robot message. The caller validated it with `RobotMessage`. */
export function mapRobotMessage(msg: RobotMessage, ctx: MapContext): Mapped {
  const isGroup = msg.conversationType === "2";
  const userId = msg.senderStaffId || msg.senderId;
  if (!userId) return { kind: "ignored", reason: "message has neither senderStaffId nor senderId" };
  const jid = isGroup ? groupJid(msg.conversationId) : userJid(userId);
  let { text, attachments } = body(msg);
  let truncated = false;
  if (text.length > MAX_CONTENT_CHARS) {
    text = `${text.slice(0, MAX_CONTENT_CHARS)} […]`;
    truncated = true;
  }
  // In groups the bot only receives messages that @ it, and DingTalk strips the mention from the
  // text: put the trigger back so `^@<name>\b` matches. 1:1 chats need no trigger.
  const mentioned = isGroup ? msg.isInAtList === true : true;
  if (isGroup && mentioned) text = `@${ctx.assistantName} ${text}`;
  // The gateway does not push the robot's own messages; should one come, it is ours.
  const ours = !!msg.chatbotUserId && msg.senderId === msg.chatbotUserId;
  const message: InboundMessage = {
    id: msg.msgId,
    chatJid: jid,
    sender: userId,
    senderName: msg.senderNick || userId,
    content: text,
    timestamp: msg.createAt ?? ctx.now,
    mentionsBot: mentioned,
    ...authorship({ ours }),
    ...(attachments.length > 0 ? { attachments } : {}),
  };
  const name = isGroup ? msg.conversationTitle : msg.senderNick;
  const chat: ChatInfo = { jid, isGroup, ...(name ? { name } : {}) };
  const webhook =
    msg.sessionWebhook && /^https?:\/\//.test(msg.sessionWebhook) && msg.sessionWebhookExpiredTime
      ? { url: msg.sessionWebhook, expiresAt: msg.sessionWebhookExpiredTime }
      : undefined;
  return { kind: "message", message, chat, truncated, ...(webhook ? { webhook } : {}) };
}
