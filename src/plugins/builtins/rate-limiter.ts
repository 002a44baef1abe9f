/**
 * `rate-limiter`: at most N messages per window per chat and per sender in registered groups;
 * the rest are dropped (stored, marked, never reach the agent), with an optional notice to the
 * chat once per window. Sliding window; memory bounded by pruning idle keys.
 */
import * as v from "valibot";
import { definePlugin } from "../define.ts";

const PositiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));

export const RateLimiterConfig = v.strictObject({
  perChatPerMinute: v.optional(PositiveInt, 30),
  perSenderPerMinute: v.optional(PositiveInt, 10),
  /** Text sent to the chat when a limit is hit (once per window); false for none. */
  notice: v.optional(
    v.union([v.pipe(v.string(), v.minLength(1), v.maxLength(2000)), v.literal(false)]),
    "⏳ Too many messages, please slow down.",
  ),
  /** The window; a minute unless changed (tests). */
  windowMs: v.optional(PositiveInt, 60_000),
});

const MAX_KEYS = 10_000;

export default definePlugin({
  name: "rate-limiter",
  version: "1.0.0",
  description: "Messages per minute per chat and per sender; the excess is dropped",
  config: RateLimiterConfig,
  setup(api) {
    const { perChatPerMinute, perSenderPerMinute, notice, windowMs } = api.config;
    const hits = new Map<string, number[]>();
    const noticed = new Map<string, number>();

    /** Records a hit for `key` unless it is over `limit`; true when over. */
    const over = (key: string, limit: number, now: number): boolean => {
      let list = hits.get(key);
      if (!list) {
        if (hits.size >= MAX_KEYS) prune(now);
        list = [];
        hits.set(key, list);
      }
      while (list.length && now - list[0]! >= windowMs) list.shift();
      if (list.length >= limit) return true;
      list.push(now);
      return false;
    };
    const prune = (now: number) => {
      for (const [k, list] of hits)
        if (!list.length || now - list[list.length - 1]! >= windowMs) hits.delete(k);
      for (const [k, at] of noticed) if (now - at >= windowMs) noticed.delete(k);
    };

    api.on(
      "message.received",
      (m) => {
        if (!m.group || m.isFromMe || m.isBot) return;
        const now = Date.now();
        const sender = over(`s:${m.chatJid}\u0000${m.sender}`, perSenderPerMinute, now);
        const chat = !sender && over(`c:${m.chatJid}`, perChatPerMinute, now);
        if (!sender && !chat) return;
        if (notice && now - (noticed.get(m.chatJid) ?? -Infinity) >= windowMs) {
          noticed.set(m.chatJid, now);
          api.send(m.chatJid, notice).catch((err) => api.log.warn("notice not sent", { error: String(err) }));
        }
        return sender
          ? { drop: `rate limit: more than ${perSenderPerMinute} messages a minute from ${m.sender}` }
          : { drop: `rate limit: more than ${perChatPerMinute} messages a minute in this chat` };
      },
      { priority: 90, timeoutMs: 500 },
    );
  },
});
