/**
 * Feishu/Lark event envelopes → host shapes. The v2 envelope (`schema: "2.0"`, `header`,
 * `event`) arrives the same way over the long connection and the HTTP subscription; only the
 * fields the host uses are validated. `im.message.receive_v1` becomes an `InboundMessage`
 * (text and rich-text "post" content, mentions rewritten so the trigger matches, the thread kept
 * for the reply); `im.chat.member.bot.added_v1` becomes a discovered chat; anything else is
 * reported as ignored so the caller can still acknowledge it.
 */
import * as v from "valibot";
import type { ChatInfo, InboundMessage } from "../../orchestrator/channel.ts";
import { authorship } from "../kit/authorship.ts";

export const FEISHU_PREFIX = "feishu:";

/** Longest inbound text kept (the platform accepts ~150 KB bodies); the rest is cut with a note. */
export const MAX_INBOUND_CHARS = 32_000;

export interface BotInfo {
  openId: string;
  name?: string;
}

/** An event body that is not a usable v2 event. */
export class FeishuPayloadError extends Error {
  override name = "FeishuPayloadError";
}

const Header = v.object({
  event_id: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  event_type: v.pipe(v.string(), v.maxLength(128)),
  create_time: v.optional(v.string()),
  token: v.optional(v.string()),
  app_id: v.optional(v.string()),
  tenant_key: v.optional(v.string()),
});

const Envelope = v.object({
  schema: v.literal("2.0"),
  header: Header,
  event: v.optional(v.record(v.string(), v.unknown())),
});
export type Envelope = v.InferOutput<typeof Envelope>;

const UserId = v.object({
  open_id: v.optional(v.string()),
  user_id: v.optional(v.nullable(v.string())),
  union_id: v.optional(v.string()),
});

const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(256));

const MessageEvent = v.object({
  sender: v.object({
    sender_id: v.optional(UserId),
    sender_type: v.optional(v.string()),
    tenant_key: v.optional(v.string()),
  }),
  message: v.object({
    message_id: Id,
    root_id: v.optional(v.string()),
    parent_id: v.optional(v.string()),
    create_time: v.optional(v.string()),
    chat_id: Id,
    thread_id: v.optional(v.string()),
    chat_type: v.optional(v.string()),
    message_type: v.string(),
    content: v.string(),
    mentions: v.optional(
      v.array(
        v.object({
          key: v.string(),
          id: v.optional(UserId),
          name: v.optional(v.string()),
        }),
      ),
    ),
  }),
});
export type MessageEvent = v.InferOutput<typeof MessageEvent>;

const BotAddedEvent = v.object({
  chat_id: Id,
  name: v.optional(v.string()),
  external: v.optional(v.boolean()),
});

/** Where the first validation problem is, for one log line. */
function describe(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return "invalid";
  const path = issue.path?.map((p) => String(p.key)).join(".") ?? "";
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** Validate a decoded event body as a v2 envelope. */
export function parseEnvelope(raw: unknown): Envelope {
  const parsed = v.safeParse(Envelope, raw);
  if (!parsed.success) throw new FeishuPayloadError(`not a v2 event (${describe(parsed.issues)})`);
  return parsed.output;
}

export type MappedEvent =
  | { kind: "message"; message: InboundMessage; chat: ChatInfo }
  | { kind: "chat"; chat: ChatInfo }
  | { kind: "ignored"; reason: string };

export interface MapOptions {
  bot: BotInfo | undefined;
  assistantName: string;
}

/** Map a validated envelope. Throws `FeishuPayloadError` for a known event type with a bad body. */
export function mapEvent(env: Envelope, opts: MapOptions): MappedEvent {
  const type = env.header.event_type;
  if (type === "im.message.receive_v1") {
    const parsed = v.safeParse(MessageEvent, env.event);
    if (!parsed.success) throw new FeishuPayloadError(`bad ${type} event (${describe(parsed.issues)})`);
    return mapMessage(parsed.output, opts);
  }
  if (type === "im.chat.member.bot.added_v1") {
    const parsed = v.safeParse(BotAddedEvent, env.event);
    if (!parsed.success) throw new FeishuPayloadError(`bad ${type} event (${describe(parsed.issues)})`);
    const chat: ChatInfo = { jid: `${FEISHU_PREFIX}${parsed.output.chat_id}`, isGroup: true };
    if (parsed.output.name) chat.name = parsed.output.name;
    return { kind: "chat", chat };
  }
  return { kind: "ignored", reason: `event type ${type} is not handled` };
}

function mapMessage(e: MessageEvent, opts: MapOptions): MappedEvent {
  const m = e.message;
  const jid = `${FEISHU_PREFIX}${m.chat_id}`;
  const isGroup = m.chat_type !== "p2p";
  const senderOpenId = e.sender.sender_id?.open_id ?? "";
  const senderType = e.sender.sender_type ?? "user";
  const isBot = senderType !== "user";
  const isFromMe = isBot && opts.bot !== undefined && senderOpenId === opts.bot.openId;

  const mentions = m.mentions ?? [];
  const botKeys = new Set(
    mentions.filter((x) => opts.bot && x.id?.open_id === opts.bot.openId).map((x) => x.key),
  );
  let text = contentText(m.message_type, m.content);
  text = rewriteMentions(text, mentions, botKeys, opts.assistantName);
  if (text.length > MAX_INBOUND_CHARS) {
    text = `${text.slice(0, MAX_INBOUND_CHARS)}\n[… message truncated: ${text.length} characters]`;
  }
  const created = Number(m.create_time);
  const message: InboundMessage = {
    id: m.message_id,
    chatJid: jid,
    sender: senderOpenId || "unknown",
    senderName: senderOpenId || "unknown",
    content: text,
    timestamp: Number.isFinite(created) && created > 0 ? created : Date.now(),
    ...authorship({ ours: isFromMe, bot: isBot }),
  };
  if (!isBot && (botKeys.size > 0 || !isGroup)) message.mentionsBot = true;
  // In a thread the reply goes to the thread's root with reply_in_thread; a quote-reply in the
  // main chat is not a thread.
  if (m.thread_id) message.threadId = m.root_id || m.message_id;
  if (m.parent_id) message.replyToId = m.parent_id;
  if (m.message_type === "image") message.attachments = [{ kind: "image" }];
  else if (m.message_type === "file") message.attachments = [{ kind: "file" }];
  else if (m.message_type === "audio") message.attachments = [{ kind: "audio" }];
  else if (m.message_type === "media") message.attachments = [{ kind: "video" }];
  return { kind: "message", message, chat: { jid, isGroup } };
}

/**
 * Replace `@_user_N` placeholders: the bot's with `@<assistant>` (so `^@Name\b` triggers), the
 * others with `@<their name>`. Keys are matched whole (`@_user_1` never inside `@_user_10`).
 */
export function rewriteMentions(
  text: string,
  mentions: readonly { key: string; name?: string }[],
  botKeys: ReadonlySet<string>,
  assistantName: string,
): string {
  let out = text;
  // A mention mid-sentence still triggers: the message carries `mentionsBot`.
  for (const m of mentions) {
    if (!/^@[\w-]+$/.test(m.key)) continue;
    const replacement = botKeys.has(m.key) ? `@${assistantName}` : `@${m.name ?? "user"}`;
    out = out.replace(new RegExp(`${m.key}(?![\\w-])`, "g"), () => replacement);
  }
  return out.replace(/@_all(?![\w-])/g, "@all");
}

interface PostElement {
  tag?: unknown;
  text?: unknown;
  href?: unknown;
  user_id?: unknown;
  user_name?: unknown;
  language?: unknown;
  emoji_type?: unknown;
}

/** Plain text of a message's `content` JSON for the types the agent can read. */
export function contentText(messageType: string, content: string): string {
  let body: unknown;
  try {
    body = JSON.parse(content);
  } catch {
    return `[${messageType} message with unreadable content]`;
  }
  const obj = (body ?? {}) as Record<string, unknown>;
  switch (messageType) {
    case "text":
      return typeof obj.text === "string" ? obj.text : "";
    case "post":
      return postText(obj);
    case "image":
      return "[image]";
    case "file":
      return `[file${typeof obj.file_name === "string" ? `: ${obj.file_name}` : ""}]`;
    case "audio":
      return "[voice message]";
    case "media":
      return `[video${typeof obj.file_name === "string" ? `: ${obj.file_name}` : ""}]`;
    case "sticker":
      return "[sticker]";
    default:
      return `[${messageType} message]`;
  }
}

/** Rich text: `{title, content: [[element…]…]}`, possibly wrapped in a locale key (`zh_cn`). */
function postText(obj: Record<string, unknown>): string {
  let post = obj;
  if (!Array.isArray(post.content)) {
    const inner = Object.values(obj).find(
      (x) => x && typeof x === "object" && Array.isArray((x as Record<string, unknown>).content),
    );
    if (!inner) return "";
    post = inner as Record<string, unknown>;
  }
  const lines: string[] = [];
  if (typeof post.title === "string" && post.title.trim()) lines.push(post.title.trim());
  for (const para of post.content as unknown[]) {
    if (!Array.isArray(para)) continue;
    let line = "";
    for (const el of para as PostElement[]) line += postElement(el);
    lines.push(line);
  }
  return lines.join("\n").trim();
}

function postElement(el: PostElement): string {
  const str = (x: unknown) => (typeof x === "string" ? x : "");
  switch (el?.tag) {
    case "text":
    case "md":
      return str(el.text);
    case "a":
      return el.href && str(el.href) !== str(el.text) ? `${str(el.text)} (${str(el.href)})` : str(el.text);
    case "at":
      // In received posts `user_id` carries the mention key (`@_user_1`), resolved later.
      return str(el.user_id).startsWith("@") ? str(el.user_id) : `@${str(el.user_name) || "user"}`;
    case "code_block":
      return `\n\`\`\`${str(el.language).toLowerCase()}\n${str(el.text).replace(/\n$/, "")}\n\`\`\`\n`;
    case "emotion":
      return `:${str(el.emoji_type)}:`;
    case "img":
      return "[image]";
    case "media":
      return "[video]";
    case "hr":
      return "\n---\n";
    default:
      return "";
  }
}
