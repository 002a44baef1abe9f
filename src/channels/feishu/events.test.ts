import { describe, expect, test } from "bun:test";
import {
  contentText,
  FeishuPayloadError,
  MAX_INBOUND_CHARS,
  mapEvent,
  parseEnvelope,
  rewriteMentions,
} from "./events.ts";

const bot = { openId: "ou_bot" };

function envelope(message: Record<string, unknown>, sender: Record<string, unknown> = {}) {
  return parseEnvelope({
    schema: "2.0",
    header: { event_id: "ev1", event_type: "im.message.receive_v1", create_time: "1", app_id: "cli_x" },
    event: {
      sender: { sender_id: { open_id: "ou_u1" }, sender_type: "user", ...sender },
      message: {
        message_id: "om_1",
        chat_id: "oc_1",
        chat_type: "group",
        message_type: "text",
        content: JSON.stringify({ text: "hi" }),
        create_time: "1700000000000",
        ...message,
      },
    },
  });
}

describe("feishu event mapping", () => {
  test("a group text message with the bot mentioned mid-sentence triggers and keeps the text", () => {
    const out = mapEvent(
      envelope({
        content: JSON.stringify({ text: "hey @_user_1 and @_user_10, look" }),
        mentions: [
          { key: "@_user_1", id: { open_id: "ou_bot" }, name: "Bot" },
          { key: "@_user_10", id: { open_id: "ou_other" }, name: "Bob" },
        ],
      }),
      { bot, assistantName: "Andy" },
    );
    if (out.kind !== "message") throw new Error(out.kind);
    expect(out.message).toMatchObject({
      id: "om_1",
      chatJid: "feishu:oc_1",
      sender: "ou_u1",
      content: "hey @Andy and @Bob, look",
      timestamp: 1700000000000,
      mentionsBot: true,
    });
    expect(out.chat).toEqual({ jid: "feishu:oc_1", isGroup: true });
  });

  test("p2p messages are addressed to the bot; group messages without a mention are not", () => {
    const dm = mapEvent(envelope({ chat_type: "p2p" }), { bot, assistantName: "Andy" });
    const group = mapEvent(envelope({}), { bot, assistantName: "Andy" });
    expect(dm.kind === "message" && dm.message.mentionsBot).toBe(true);
    expect(group.kind === "message" && group.message.mentionsBot).toBeUndefined();
  });

  test("thread messages reply to their root; quote replies in the main chat do not open a thread", () => {
    const inThread = mapEvent(envelope({ thread_id: "omt_1", root_id: "om_root", parent_id: "om_p" }), {
      bot,
      assistantName: "A",
    });
    const quote = mapEvent(envelope({ root_id: "om_root", parent_id: "om_root" }), {
      bot,
      assistantName: "A",
    });
    expect(inThread.kind === "message" && inThread.message.threadId).toBe("om_root");
    expect(quote.kind === "message" && quote.message.threadId).toBeUndefined();
    expect(quote.kind === "message" && quote.message.replyToId).toBe("om_root");
  });

  test("the bot's own messages are stored as from-me bot messages and never addressed", () => {
    const out = mapEvent(envelope({}, { sender_type: "app", sender_id: { open_id: "ou_bot" } }), {
      bot,
      assistantName: "A",
    });
    if (out.kind !== "message") throw new Error(out.kind);
    expect(out.message.isBot).toBe(true);
    expect(out.message.isFromMe).toBe(true);
    expect(out.message.mentionsBot).toBeUndefined();
  });

  test("rich text posts become readable text with code, links and mentions", () => {
    const post = {
      title: "Plan",
      content: [
        [
          { tag: "at", user_id: "@_user_1", user_name: "Bot" },
          { tag: "text", text: " please run " },
          { tag: "a", text: "this", href: "https://x.test" },
        ],
        [{ tag: "code_block", language: "PYTHON", text: "print(1)\n" }],
      ],
    };
    const out = mapEvent(
      envelope({
        message_type: "post",
        content: JSON.stringify(post),
        mentions: [{ key: "@_user_1", id: { open_id: "ou_bot" }, name: "Bot" }],
      }),
      { bot, assistantName: "Andy" },
    );
    if (out.kind !== "message") throw new Error(out.kind);
    expect(out.message.content).toBe(
      "Plan\n@Andy please run this (https://x.test)\n\n```python\nprint(1)\n```",
    );
    // A locale-wrapped post (as sent) reads the same.
    expect(contentText("post", JSON.stringify({ zh_cn: post }))).toContain("```python");
  });

  test("huge messages are cut with a note; other types get a placeholder", () => {
    const out = mapEvent(envelope({ content: JSON.stringify({ text: "x".repeat(100_000) }) }), {
      bot,
      assistantName: "A",
    });
    if (out.kind !== "message") throw new Error(out.kind);
    expect(out.message.content.length).toBeLessThan(MAX_INBOUND_CHARS + 100);
    expect(out.message.content).toContain("truncated");
    expect(contentText("image", '{"image_key":"k"}')).toBe("[image]");
    expect(contentText("text", "not json")).toContain("unreadable");
  });

  test("bad envelopes and unknown events are refused or ignored with a reason", () => {
    expect(() => parseEnvelope({ schema: "1.0" })).toThrow(FeishuPayloadError);
    expect(() => parseEnvelope({ schema: "2.0", header: { event_type: "x" } })).toThrow(/event_id/);
    const unknown = mapEvent(
      parseEnvelope({
        schema: "2.0",
        header: { event_id: "e", event_type: "contact.user.created_v3" },
        event: {},
      }),
      { bot, assistantName: "A" },
    );
    expect(unknown).toEqual({ kind: "ignored", reason: "event type contact.user.created_v3 is not handled" });
    expect(() =>
      mapEvent(
        parseEnvelope({
          schema: "2.0",
          header: { event_id: "e", event_type: "im.message.receive_v1" },
          event: {},
        }),
        {
          bot,
          assistantName: "A",
        },
      ),
    ).toThrow(/sender/);
  });

  test("mention keys are replaced whole", () => {
    expect(rewriteMentions("@_user_1 @_user_11", [{ key: "@_user_1", name: "B" }], new Set(), "A")).toBe(
      "@B @_user_11",
    );
  });
});
