/**
 * `mention`: extra names the bot answers to ("bot", "assistant", a nickname), anywhere in the
 * text as a word, with or without "@", and (optionally) every direct message. A match sets
 * `mentionsBot`, which triggers the agent exactly like a platform @-mention.
 */
import * as v from "valibot";
import { definePlugin } from "../define.ts";
import { wordsRegex } from "./words.ts";

export const MentionConfig = v.strictObject({
  names: v.optional(
    v.pipe(v.array(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(64))), v.maxLength(50)),
    [],
  ),
  /** Answer every message in a one-to-one chat. */
  directMessages: v.optional(v.boolean(), true),
});

export default definePlugin({
  name: "mention",
  version: "1.0.0",
  description: "Extra trigger names and aliases; always answer direct messages",
  config: MentionConfig,
  setup(api) {
    const { names, directMessages } = api.config;
    const re = names.length ? wordsRegex(names, { at: true }) : null;
    api.on(
      "message.received",
      (m) => {
        if (!m.group || m.isFromMe || m.isBot || m.mentionsBot) return;
        if ((directMessages && m.isDirect === true) || re?.test(m.content)) return { mentionsBot: true };
      },
      { priority: 50, timeoutMs: 500 },
    );
  },
});
