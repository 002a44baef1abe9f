/**
 * WeCom payloads → stored messages. AI-bot callbacks (JSON, `aibot_msg_callback` body) and
 * self-built app callbacks (decrypted XML) both become `InboundMessage`s.
 *
 * Chats: `wecom:group:<chatid>` (AI-bot groups) and `wecom:user:<userid>` (1:1, both modes).
 * In groups the AI bot only receives messages that @ it, and the text keeps the mention
 * (`"@RobotA hello"`): the leading mention is replaced by `@<assistant name>` and the message is
 * marked as mentioning the bot.
 */
import * as v from "valibot";
import type { Attachment, ChatInfo, InboundMessage } from "../../orchestrator/channel.ts";
import { authorship } from "../kit/authorship.ts";

export const JID_PREFIX = "wecom:";
/** Stored text is cut here (a platform message is far smaller; this bounds a forged one). */
export const MAX_CONTENT = 64 * 1024;

const Str = v.pipe(v.string(), v.maxLength(4096));
const Url = v.object({ url: v.optional(v.string()) });
const Text = v.object({ content: v.pipe(v.string(), v.maxLength(1024 * 1024)) });

export const AibotMessage = v.object({
  msgid: v.pipe(Str, v.minLength(1)),
  aibotid: v.optional(Str),
  chatid: v.optional(Str),
  chattype: v.picklist(["single", "group"]),
  from: v.object({ userid: v.pipe(Str, v.minLength(1)) }),
  create_time: v.optional(v.number()),
  msgtype: Str,
  text: v.optional(Text),
  image: v.optional(Url),
  file: v.optional(Url),
  video: v.optional(Url),
  voice: v.optional(v.object({ content: v.optional(v.string()), text: v.optional(v.string()) })),
  mixed: v.optional(
    v.object({
      msg_item: v.pipe(
        v.array(v.object({ msgtype: Str, text: v.optional(Text), image: v.optional(Url) })),
        v.maxLength(100),
      ),
    }),
  ),
  quote: v.optional(v.unknown()),
});
export type AibotMessage = v.InferOutput<typeof AibotMessage>;

export function groupJid(chatid: string): string {
  return `${JID_PREFIX}group:${chatid}`;
}
export function userJid(userid: string): string {
  return `${JID_PREFIX}user:${userid}`;
}

/** `{kind, id}` of a WeCom chat id, or undefined when it is not one. */
export function parseJid(jid: string): { kind: "group" | "user"; id: string } | undefined {
  const m = /^wecom:(group|user):(.+)$/.exec(jid);
  return m ? { kind: m[1] as "group" | "user", id: m[2]! } : undefined;
}

function cut(text: string): string {
  return text.length > MAX_CONTENT ? `${text.slice(0, MAX_CONTENT)}…` : text;
}

/** Replace a leading @mention of the bot by `@<assistant>`. */
export function normalizeMention(text: string, assistantName: string, botName?: string): string {
  const t = text.replace(/^\s+/, "");
  let rest: string;
  if (botName && t.startsWith(`@${botName}`)) rest = t.slice(botName.length + 1);
  else {
    const m = /^@\S+/.exec(t);
    rest = m ? t.slice(m[0].length) : t;
  }
  return `@${assistantName} ${rest.replace(/^[\s\u2005]+/, "")}`.trimEnd();
}

export interface MappedAibot {
  message: InboundMessage;
  chat: ChatInfo;
}

export function mapAibotMessage(
  m: AibotMessage,
  ctx: { assistantName: string; botName?: string; now: number },
): MappedAibot {
  const group = m.chattype === "group" && !!m.chatid;
  const jid = group ? groupJid(m.chatid!) : userJid(m.from.userid);
  const attachments: Attachment[] = [];
  let text = "";
  switch (m.msgtype) {
    case "text":
      text = m.text?.content ?? "";
      break;
    case "voice":
      // The transcript: `voice.content` per the SDK, `voice.text` per a peer; accept both.
      text = m.voice?.content ?? m.voice?.text ?? "";
      break;
    case "mixed":
      for (const item of m.mixed?.msg_item ?? []) {
        if (item.msgtype === "text" && item.text) text += (text ? "\n" : "") + item.text.content;
        if (item.msgtype === "image") attachments.push({ kind: "image" });
      }
      break;
    case "image":
      attachments.push({ kind: "image" });
      text = "[image]";
      break;
    case "file":
      attachments.push({ kind: "file" });
      text = "[file]";
      break;
    case "video":
      attachments.push({ kind: "video" });
      text = "[video]";
      break;
    default:
      text = `[${m.msgtype.slice(0, 32)}]`;
  }
  const content = group ? normalizeMention(text, ctx.assistantName, ctx.botName) : text;
  const ts =
    m.create_time && m.create_time > 0
      ? m.create_time < 1e12
        ? m.create_time * 1000
        : m.create_time
      : ctx.now;
  return {
    message: {
      id: m.msgid,
      chatJid: jid,
      sender: m.from.userid,
      senderName: m.from.userid,
      content: cut(content),
      timestamp: ts,
      ...(group ? { mentionsBot: true } : {}),
      ...(attachments.length ? { attachments } : {}),
      ...authorship({ ours: false }),
    },
    chat: { jid, isGroup: group, ...(group ? {} : { name: m.from.userid }) },
  };
}

/** A decrypted self-built-app callback (`MsgType` text), or why it is not stored. */
export function mapAppXml(
  x: Record<string, string>,
  ctx: { corpId: string; agentId?: string; now: number },
):
  | { kind: "message"; message: InboundMessage; chat: ChatInfo }
  | { kind: "event"; chat?: ChatInfo }
  | { kind: "ignored"; reason: string } {
  if (x.ToUserName !== ctx.corpId) return { kind: "ignored", reason: "ToUserName is not our corp id" };
  if (ctx.agentId && x.AgentID && x.AgentID !== ctx.agentId)
    return { kind: "ignored", reason: "AgentID is not our app" };
  const from = x.FromUserName;
  if (!from || from.length > 256) return { kind: "ignored", reason: "FromUserName missing" };
  const jid = userJid(from);
  const chat = { jid, name: from, isGroup: false };
  if (x.MsgType === "event") return { kind: "event", chat };
  if (!x.MsgId || !/^\d{1,24}$/.test(x.MsgId)) return { kind: "ignored", reason: "MsgId missing" };
  const created = Number(x.CreateTime);
  let content: string;
  const attachments: Attachment[] = [];
  switch (x.MsgType) {
    case "text":
      content = x.Content ?? "";
      break;
    case "voice":
      content = x.Recognition || "[voice]";
      attachments.push({ kind: "audio" });
      break;
    case "image":
      content = "[image]";
      attachments.push({ kind: "image", ...(x.PicUrl ? { url: x.PicUrl } : {}) });
      break;
    default:
      content = `[${(x.MsgType ?? "unknown").slice(0, 32)}]`;
  }
  return {
    kind: "message",
    chat,
    message: {
      id: x.MsgId,
      chatJid: jid,
      sender: from,
      senderName: from,
      content: cut(content),
      timestamp: Number.isFinite(created) && created > 0 ? created * 1000 : ctx.now,
      ...(attachments.length ? { attachments } : {}),
      ...authorship({ ours: false }),
    },
  };
}
