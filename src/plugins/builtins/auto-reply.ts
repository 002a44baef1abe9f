/**
 * `auto-reply`: keyword or regex rules answered at once, without running an agent. A matching
 * message in a registered group gets the rule's reply; the message is dropped for the agent
 * (stored, marked "auto-reply") unless the rule says `passThrough`.
 */
import * as v from "valibot";
import { definePlugin } from "../define.ts";
import { wordsRegex } from "./words.ts";

const Regex = v.pipe(
  v.string(),
  v.maxLength(500),
  v.check((s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }, "not a valid regular expression"),
);

export const AutoReplyRule = v.pipe(
  v.strictObject({
    /** Any of these words (whole words, case-insensitive). */
    keywords: v.optional(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(100)))),
    /** Or a regular expression (JavaScript syntax) tested against the text. */
    pattern: v.optional(Regex),
    flags: v.optional(v.pipe(v.string(), v.regex(/^[imsu]*$/, "flags may be i, m, s, u")), "i"),
    /** The answer; `{sender}` is replaced by the sender's name. */
    reply: v.pipe(v.string(), v.minLength(1), v.maxLength(4000)),
    /** Only in these group folders (default: every registered group). */
    groups: v.optional(v.array(v.string())),
    /** Also let the agent see the message. */
    passThrough: v.optional(v.boolean(), false),
  }),
  v.check((r) => Boolean(r.keywords?.length || r.pattern), "a rule needs keywords or a pattern"),
);

export const AutoReplyConfig = v.strictObject({
  rules: v.pipe(v.array(AutoReplyRule), v.maxLength(200)),
});

export default definePlugin({
  name: "auto-reply",
  version: "1.0.0",
  description: "Keyword/regex rules answered without running an agent",
  config: AutoReplyConfig,
  setup(api) {
    const rules = api.config.rules.map((r, i) => ({
      ...r,
      index: i + 1,
      re: r.pattern ? new RegExp(r.pattern, r.flags) : wordsRegex(r.keywords ?? []),
      groups: r.groups ? new Set(r.groups) : null,
    }));
    api.on(
      "message.received",
      (m) => {
        if (!m.group || m.isFromMe || m.isBot) return;
        const folder = m.group.folder;
        const rule = rules.find((r) => (!r.groups || r.groups.has(folder)) && r.re.test(m.content));
        if (!rule) return;
        const text = rule.reply.replaceAll("{sender}", m.senderName || m.sender);
        api
          .send(m.chatJid, text)
          .catch((err) => api.log.warn("auto-reply not sent", { rule: rule.index, error: String(err) }));
        return rule.passThrough ? undefined : { drop: `auto-reply: answered by rule ${rule.index}` };
      },
      { priority: 10, timeoutMs: 500 },
    );
  },
});
