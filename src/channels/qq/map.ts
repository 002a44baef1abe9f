/**
 * QQ events → stored messages, and QQ chat ids.
 *
 * Chat ids (one per send endpoint, so a JID says where a reply goes):
 * - `qq:group:<group_openid>`   QQ group (GROUP_AT_MESSAGE_CREATE; the bot only sees @-messages)
 * - `qq:c2c:<user_openid>`      private chat with a QQ user (C2C_MESSAGE_CREATE)
 * - `qq:channel:<channel_id>`   guild text channel (AT_MESSAGE_CREATE)
 * - `qq:dm:<guild_id>`          guild direct-message session (DIRECT_MESSAGE_CREATE; QQ addresses
 *                               DM replies by the DM session's guild id)
 * Group and guild @-messages are always marked as mentioning the bot; the raw mention (removed by
 * QQ in groups, `<@!id>` in guilds) becomes `@<assistant name>`. QQ escapes &, <, > in content.
 */
import * as v from "valibot";
import type { Attachment, ChatInfo, InboundMessage } from "../../orchestrator/channel.ts";
import { authorship } from "../kit/authorship.ts";
import type { QqTarget } from "./api.ts";

export const JID_PREFIX = "qq:";
export const MAX_CONTENT = 64 * 1024;

const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(256));
const Content = v.optional(v.pipe(v.string(), v.maxLength(1024 * 1024)), "");
const Attachments = v.optional(
  v.pipe(
    v.array(
      v.object({
        content_type: v.optional(v.string()),
        filename: v.optional(v.string()),
        url: v.optional(v.string()),
        size: v.optional(v.number()),
      }),
    ),
    v.maxLength(50),
  ),
);

const C2C = v.object({
  id: Id,
  author: v.object({ user_openid: Id }),
  content: Content,
  timestamp: v.optional(v.string()),
  attachments: Attachments,
});
const Group = v.object({
  id: Id,
  author: v.object({ member_openid: Id }),
  group_openid: Id,
  content: Content,
  timestamp: v.optional(v.string()),
  attachments: Attachments,
});
const Guild = v.object({
  id: Id,
  channel_id: Id,
  guild_id: Id,
  content: Content,
  author: v.object({ id: Id, username: v.optional(v.string()), bot: v.optional(v.boolean()) }),
  timestamp: v.optional(v.string()),
  attachments: Attachments,
});

export const MESSAGE_EVENTS = [
  "C2C_MESSAGE_CREATE",
  "GROUP_AT_MESSAGE_CREATE",
  "AT_MESSAGE_CREATE",
  "DIRECT_MESSAGE_CREATE",
] as const;
/** Events we know and use only for discovery, or not at all (never counted as unknown). */
export const KNOWN_EVENTS = new Set<string>([
  ...MESSAGE_EVENTS,
  "READY",
  "RESUMED",
  "GROUP_ADD_ROBOT",
  "GROUP_DEL_ROBOT",
  "GROUP_MSG_REJECT",
  "GROUP_MSG_RECEIVE",
  "FRIEND_ADD",
  "FRIEND_DEL",
  "C2C_MSG_REJECT",
  "C2C_MSG_RECEIVE",
  "MESSAGE_DELETE",
  "PUBLIC_MESSAGE_DELETE",
  "DIRECT_MESSAGE_DELETE",
  "INTERACTION_CREATE",
]);

export function jidOf(t: QqTarget): string {
  return `${JID_PREFIX}${t.kind}:${t.id}`;
}

export function parseJid(jid: string): QqTarget | undefined {
  const m = /^qq:(group|c2c|channel|dm):([^\s/]{1,256})$/.exec(jid);
  return m ? ({ kind: m[1], id: m[2] } as QqTarget) : undefined;
}

export function unescapeQq(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function time(ts: string | undefined, now: number): number {
  const t = ts ? Date.parse(ts) : Number.NaN;
  return Number.isFinite(t) ? t : now;
}

function files(list: v.InferOutput<typeof Attachments>): Attachment[] {
  return (list ?? []).map((a) => {
    const type = a.content_type ?? "";
    const kind: Attachment["kind"] = type.startsWith("image")
      ? "image"
      : type.startsWith("video")
        ? "video"
        : type.startsWith("voice") || type.startsWith("audio")
          ? "audio"
          : "file";
    return { kind, ...(a.filename ? { name: a.filename } : {}), ...(a.size ? { size: a.size } : {}) };
  });
}

function cut(text: string): string {
  return text.length > MAX_CONTENT ? `${text.slice(0, MAX_CONTENT)}…` : text;
}

export type Mapped =
  | { kind: "message"; message: InboundMessage; chat: ChatInfo; target: QqTarget }
  | { kind: "discovered"; chat: ChatInfo }
  | { kind: "ignored"; reason: string };

/** Map one dispatch (`t`, `d`) to what the channel does with it. */
export function mapEvent(
  t: string,
  d: unknown,
  ctx: { assistantName: string; botId?: string; now: number },
): Mapped {
  const mention = (text: string) => {
    const rest = text.replace(/^\s*(<@!?\w+>\s*)+/, "").replace(/^\s+/, "");
    return `@${ctx.assistantName} ${rest}`.trimEnd();
  };
  const issue = (r: v.SafeParseResult<v.GenericSchema>) =>
    `invalid ${t}: ${r.issues ? (v.getDotPath(r.issues[0]) ?? "d") : "d"}`;
  switch (t) {
    case "C2C_MESSAGE_CREATE": {
      const r = v.safeParse(C2C, d);
      if (!r.success) return { kind: "ignored", reason: issue(r) };
      const target: QqTarget = { kind: "c2c", id: r.output.author.user_openid };
      const jid = jidOf(target);
      const atts = files(r.output.attachments);
      return {
        kind: "message",
        target,
        chat: { jid, isGroup: false },
        message: {
          id: r.output.id,
          chatJid: jid,
          sender: r.output.author.user_openid,
          senderName: r.output.author.user_openid,
          content: cut(unescapeQq(r.output.content).trim() || (atts.length ? "[attachment]" : "")),
          timestamp: time(r.output.timestamp, ctx.now),
          ...(atts.length ? { attachments: atts } : {}),
          ...authorship({ ours: false }),
        },
      };
    }
    case "GROUP_AT_MESSAGE_CREATE": {
      const r = v.safeParse(Group, d);
      if (!r.success) return { kind: "ignored", reason: issue(r) };
      const target: QqTarget = { kind: "group", id: r.output.group_openid };
      const jid = jidOf(target);
      const atts = files(r.output.attachments);
      return {
        kind: "message",
        target,
        chat: { jid, isGroup: true },
        message: {
          id: r.output.id,
          chatJid: jid,
          sender: r.output.author.member_openid,
          senderName: r.output.author.member_openid,
          content: cut(mention(unescapeQq(r.output.content))),
          timestamp: time(r.output.timestamp, ctx.now),
          mentionsBot: true,
          ...(atts.length ? { attachments: atts } : {}),
          ...authorship({ ours: false }),
        },
      };
    }
    case "AT_MESSAGE_CREATE":
    case "DIRECT_MESSAGE_CREATE": {
      const r = v.safeParse(Guild, d);
      if (!r.success) return { kind: "ignored", reason: issue(r) };
      const dm = t === "DIRECT_MESSAGE_CREATE";
      const target: QqTarget = dm
        ? { kind: "dm", id: r.output.guild_id }
        : { kind: "channel", id: r.output.channel_id };
      const jid = jidOf(target);
      const a = r.output.author;
      const text = unescapeQq(r.output.content);
      const atts = files(r.output.attachments);
      return {
        kind: "message",
        target,
        chat: { jid, isGroup: !dm, ...(dm && a.username ? { name: a.username } : {}) },
        message: {
          id: r.output.id,
          chatJid: jid,
          sender: a.id,
          senderName: a.username ?? a.id,
          content: cut(dm ? text.trim() : mention(text)),
          timestamp: time(r.output.timestamp, ctx.now),
          ...(dm ? {} : { mentionsBot: true }),
          ...(atts.length ? { attachments: atts } : {}),
          ...authorship({ ours: ctx.botId !== undefined && a.id === ctx.botId, bot: a.bot === true }),
        },
      };
    }
    case "GROUP_ADD_ROBOT": {
      const g = (d as { group_openid?: unknown } | null)?.group_openid;
      if (typeof g !== "string" || !g || g.length > 256)
        return { kind: "ignored", reason: "invalid GROUP_ADD_ROBOT" };
      return { kind: "discovered", chat: { jid: jidOf({ kind: "group", id: g }), isGroup: true } };
    }
    case "FRIEND_ADD": {
      const u = (d as { openid?: unknown } | null)?.openid;
      if (typeof u !== "string" || !u || u.length > 256)
        return { kind: "ignored", reason: "invalid FRIEND_ADD" };
      return { kind: "discovered", chat: { jid: jidOf({ kind: "c2c", id: u }), isGroup: false } };
    }
    default:
      return { kind: "ignored", reason: KNOWN_EVENTS.has(t) ? "" : "unknown event" };
  }
}
