/**
 * Slack Socket Mode frames and Events API payloads: valibot schemas for what we accept, and
 * the mapping of `message` / `app_mention` events to InboundMessage. Pure functions, no I/O.
 */
import * as v from "valibot";
import type { Attachment, InboundMessage } from "../../orchestrator/channel.ts";
import { authorship } from "../kit/authorship.ts";

/** Any frame from the Socket Mode WebSocket. */
export const SocketFrame = v.object({
  type: v.string(),
  envelope_id: v.optional(v.string()),
  payload: v.optional(v.unknown()),
  reason: v.optional(v.string()),
  retry_attempt: v.optional(v.number()),
  retry_reason: v.optional(v.string()),
});
export type SocketFrame = v.InferOutput<typeof SocketFrame>;

export const EventCallback = v.object({
  type: v.literal("event_callback"),
  team_id: v.optional(v.string()),
  event_id: v.optional(v.string()),
  event: v.looseObject({ type: v.string() }),
});
export type EventCallback = v.InferOutput<typeof EventCallback>;

const SlackFile = v.object({
  id: v.optional(v.string()),
  name: v.optional(v.string()),
  mimetype: v.optional(v.string()),
  url_private: v.optional(v.string()),
  size: v.optional(v.number()),
});

export const MessageEvent = v.object({
  type: v.picklist(["message", "app_mention"]),
  channel: v.pipe(v.string(), v.minLength(1)),
  ts: v.pipe(v.string(), v.regex(/^\d+(\.\d+)?$/, "ts must look like 1355517523.000005")),
  user: v.optional(v.string()),
  bot_id: v.optional(v.string()),
  text: v.optional(v.string(), ""),
  subtype: v.optional(v.string()),
  thread_ts: v.optional(v.string()),
  channel_type: v.optional(v.string()),
  user_profile: v.optional(
    v.object({ display_name: v.optional(v.string()), real_name: v.optional(v.string()) }),
  ),
  files: v.optional(v.array(SlackFile)),
});
export type MessageEvent = v.InferOutput<typeof MessageEvent>;

export const MemberJoinedChannel = v.object({
  type: v.literal("member_joined_channel"),
  user: v.string(),
  channel: v.string(),
  channel_type: v.optional(v.string()),
});
export type MemberJoinedChannel = v.InferOutput<typeof MemberJoinedChannel>;

/** Subtypes that carry a real user message; everything else (edits, deletes, joins…) is skipped. */
const USER_SUBTYPES = new Set(["thread_broadcast", "file_share", "me_message"]);

export interface MapContext {
  botUserId: string;
  botId?: string;
  assistantName: string;
}

/** One-line description of why a payload failed validation (for the log). */
export function describeIssues(issues: v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (!first) return "invalid";
  const path = first.path?.map((p) => String(p.key)).join(".") || "(root)";
  return `${path}: ${first.message}`;
}

/** Slack escapes these three in message text. */
export function unescapeSlack(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const mentionCache = new Map<string, RegExp>();
/** `<@UBOT>` or `<@UBOT|name>`; cached per bot id (global flag: reset lastIndex before use). */
function mentionRegex(botUserId: string): RegExp {
  let re = mentionCache.get(botUserId);
  if (!re) {
    re = new RegExp(`<@${escapeRegex(botUserId)}(?:\\|[^>]*)?>`, "g");
    mentionCache.set(botUserId, re);
  }
  re.lastIndex = 0;
  return re;
}

/** "1355517523.000005" → epoch ms. */
export function tsToMillis(ts: string): number {
  const [sec, frac = "0"] = ts.split(".");
  return Number(sec) * 1000 + Math.floor(Number(`0.${frac}`) * 1000);
}

function attachmentKind(mime: string | undefined): Attachment["kind"] {
  if (mime?.startsWith("image/")) return "image";
  if (mime?.startsWith("audio/")) return "audio";
  if (mime?.startsWith("video/")) return "video";
  return "file";
}

/**
 * `isBot` marks posts by our own bot user (replies from an earlier run, or a post that was not an
 * echo of this process): the store keeps the flag and the orchestrator keeps them out of prompts.
 */
export type SlackInbound = InboundMessage;

export type MapResult =
  | { kind: "message"; message: SlackInbound; userId?: string }
  | { kind: "ignored"; reason: string };

/**
 * Map a validated message / app_mention event. The id is the message ts: unique within the
 * channel, and the store keys messages by (chat jid, id), i.e. channel + ts, so the same
 * message arriving as both `message` and `app_mention` (or redelivered) is stored once.
 */
export function mapMessageEvent(ev: MessageEvent, ctx: MapContext): MapResult {
  const ownBot =
    ev.user === ctx.botUserId || (ctx.botId !== undefined && ev.bot_id === ctx.botId && ev.bot_id !== "");
  if (ev.subtype && !USER_SUBTYPES.has(ev.subtype) && !(ev.subtype === "bot_message" && ownBot)) {
    return { kind: "ignored", reason: `subtype ${ev.subtype}` };
  }
  if (!ev.user && !ownBot) return { kind: "ignored", reason: "no user (another bot or integration)" };

  const mentionRe = mentionRegex(ctx.botUserId);
  const raw = ev.text;
  const mentionsBot = !ownBot && (mentionRe.test(raw) || ev.type === "app_mention");
  mentionRe.lastIndex = 0;
  const content = unescapeSlack(raw.replace(mentionRe, `@${ctx.assistantName}`));
  const attachments: Attachment[] | undefined = ev.files?.length
    ? ev.files.map((f) => ({
        kind: attachmentKind(f.mimetype),
        ...(f.name ? { name: f.name } : {}),
        ...(f.mimetype ? { mimeType: f.mimetype } : {}),
        ...(f.url_private ? { url: f.url_private } : {}),
        ...(f.size !== undefined ? { size: f.size } : {}),
      }))
    : undefined;
  const sender = ev.user ?? ev.bot_id ?? "unknown";
  const profileName = ev.user_profile?.display_name || ev.user_profile?.real_name;
  const message: SlackInbound = {
    id: ev.ts,
    chatJid: `slack:${ev.channel}`,
    sender,
    senderName: ownBot ? ctx.assistantName : (profileName ?? sender),
    content,
    timestamp: tsToMillis(ev.ts),
    ...authorship({ ours: ownBot, bot: ev.bot_id !== undefined && ev.bot_id !== "" }),
    ...(mentionsBot ? { mentionsBot: true } : {}),
    // A thread parent has thread_ts === ts; only replies inside a thread carry a distinct one,
    // but both belong to the thread, so replies go there.
    ...(ev.thread_ts ? { threadId: ev.thread_ts } : {}),
    ...(attachments ? { attachments } : {}),
  };
  return { kind: "message", message, ...(ev.user && !profileName && !ownBot ? { userId: ev.user } : {}) };
}
