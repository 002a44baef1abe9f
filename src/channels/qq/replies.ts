/**
 * QQ's passive-reply rule (bot-docs `send.md`; proactive messages stopped on 2025-04-21): a bot
 * may only answer a user's message, within a window, a few times:
 *   C2C 60 min, ≤ 5 replies per message · group 5 min, ≤ 5 · guild channel and DM 5 min.
 * Every reply carries the user's `msg_id` and a `msg_seq` that is never reused for that msg_id
 * (the same msg_id + msg_seq twice is refused). This module remembers, per chat, the latest
 * user message, and hands out (msg_id, msg_seq) while the rule allows; otherwise it says why.
 */
import type { QqTarget } from "./api.ts";

export interface ReplyRule {
  windowMs: number;
  maxReplies: number;
}

export const REPLY_RULES: Record<QqTarget["kind"], ReplyRule> = {
  c2c: { windowMs: 60 * 60_000, maxReplies: 5 },
  group: { windowMs: 5 * 60_000, maxReplies: 5 },
  // The docs give the channel/DM window but no per-message count.
  channel: { windowMs: 5 * 60_000, maxReplies: Number.POSITIVE_INFINITY },
  dm: { windowMs: 5 * 60_000, maxReplies: Number.POSITIVE_INFINITY },
};

/** The rule in words, for refusals that end up in the chat history and `ngb tasks runs`. */
export function describeRule(kind: QqTarget["kind"]): string {
  const r = REPLY_RULES[kind];
  const where = { c2c: "private chats", group: "groups", channel: "guild channels", dm: "guild DMs" }[kind];
  const count = Number.isFinite(r.maxReplies) ? `, at most ${r.maxReplies} replies per message` : "";
  return `QQ only accepts replies to a user's message (proactive messages are refused since 2025-04-21): in ${where} within ${r.windowMs / 60_000} min of it${count}`;
}

interface Entry {
  msgId: string;
  jid: string;
  kind: QqTarget["kind"];
  at: number;
  /** Replies handed out (the next msg_seq is used + 1). */
  used: number;
}

export type Grant = { ok: true; msgId: string; seq: number } | { ok: false; reason: string };

export interface ReplyBook {
  /** A user message arrived in `jid` (it becomes the chat's latest). */
  note(jid: string, kind: QqTarget["kind"], msgId: string, at: number): void;
  /** Permission for one reply in `jid`, to `replyToId` when known, else to the latest message. */
  take(jid: string, kind: QqTarget["kind"], now: number, replyToId?: string): Grant;
  /** Replies still allowed now (0 when none; Infinity where the docs give no count). */
  remaining(jid: string, kind: QqTarget["kind"], now: number, replyToId?: string): number;
  readonly size: number;
}

export function createReplyBook(max = 10_000): ReplyBook {
  const byMsg = new Map<string, Entry>();
  const latest = new Map<string, string>();

  /** The answered message when it may still be replied to, else the chat's latest. */
  function pick(jid: string, kind: QqTarget["kind"], now: number, replyToId?: string): Entry | undefined {
    const direct = replyToId ? byMsg.get(replyToId) : undefined;
    if (direct && direct.jid === jid && !check(direct, kind, now)) return direct;
    const id = latest.get(jid);
    return id ? byMsg.get(id) : undefined;
  }

  function check(e: Entry | undefined, kind: QqTarget["kind"], now: number): string | undefined {
    const rule = describeRule(kind);
    if (!e) return `${rule}; there is no recent user message in this chat to reply to`;
    const age = now - e.at;
    if (age > REPLY_RULES[kind].windowMs)
      return `${rule}; the last user message is ${Math.round(age / 60_000)} min old`;
    if (e.used >= REPLY_RULES[kind].maxReplies)
      return `${rule}; all ${e.used} replies to the last user message are used`;
    return undefined;
  }

  return {
    note(jid, kind, msgId, at) {
      if (!byMsg.has(msgId)) byMsg.set(msgId, { msgId, jid, kind, at, used: 0 });
      const cur = latest.get(jid);
      const curAt = cur ? (byMsg.get(cur)?.at ?? 0) : 0;
      // An older message redelivered late does not replace the newer one.
      if (!cur || at >= curAt) latest.set(jid, msgId);
      while (byMsg.size > max) {
        const oldest = byMsg.keys().next().value!;
        const e = byMsg.get(oldest)!;
        byMsg.delete(oldest);
        if (latest.get(e.jid) === oldest) latest.delete(e.jid);
      }
    },
    take(jid, kind, now, replyToId) {
      const e = pick(jid, kind, now, replyToId);
      const why = check(e, kind, now);
      if (why || !e) return { ok: false, reason: why ?? "" };
      e.used++;
      return { ok: true, msgId: e.msgId, seq: e.used };
    },
    remaining(jid, kind, now, replyToId) {
      const e = pick(jid, kind, now, replyToId);
      if (check(e, kind, now) || !e) return 0;
      return REPLY_RULES[kind].maxReplies - e.used;
    },
    get size() {
      return byMsg.size;
    },
  };
}
