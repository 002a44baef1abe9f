import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { createdChat, DcGuildCreate, DcMessage, guildChats, toInbound } from "./map.ts";

const bot = { id: "111", username: "andybot" };

function msg(over: Record<string, unknown> = {}) {
  return v.parse(DcMessage, {
    id: "900",
    channel_id: "500",
    guild_id: "300",
    type: 0,
    author: { id: "222", username: "alice", global_name: "Alice" },
    member: { nick: "Ali" },
    content: "hi",
    timestamp: "2026-01-01T00:00:00.000Z",
    mentions: [],
    attachments: [],
    ...over,
  });
}

describe("discord toInbound", () => {
  test("maps ids, nick, timestamp; mentions via <@id> and <@!id> become @name", () => {
    const m = toInbound(msg({ content: "<@!111> and <@111> hello" }), bot, "Andy")!;
    expect(m).toMatchObject({
      id: "900",
      chatJid: "dc:500",
      sender: "222",
      senderName: "Ali",
      content: "@Andy and @Andy hello",
      timestamp: Date.parse("2026-01-01T00:00:00.000Z"),
      mentionsBot: true,
    });
    expect(toInbound(msg({ content: "<@333> hello" }), bot)!.mentionsBot).toBeUndefined();
  });

  test("attachments by content type; attachment-only messages are kept; system messages skipped", () => {
    const m = toInbound(
      msg({
        content: "",
        attachments: [
          { filename: "a.png", content_type: "image/png", size: 5, url: "https://cdn/a.png" },
          { filename: "b.ogg", content_type: "audio/ogg" },
          { filename: "c.bin" },
        ],
      }),
      bot,
    )!;
    expect(m.attachments!.map((a) => a.kind)).toEqual(["image", "audio", "file"]);
    expect(m.attachments![0]).toEqual({
      kind: "image",
      name: "a.png",
      mimeType: "image/png",
      url: "https://cdn/a.png",
      size: 5,
    });
    expect(toInbound(msg({ type: 7, content: "" }), bot)).toBeUndefined();
    expect(toInbound(msg({ content: "" }), bot)).toBeUndefined();
  });

  test("own messages are isFromMe; DMs count as addressed to the bot; snowflakes validated", () => {
    expect(toInbound(msg({ author: { id: "111", username: "andybot" } }), bot)!.isFromMe).toBe(true);
    expect(toInbound(msg({ guild_id: undefined }), bot)!.mentionsBot).toBe(true);
    expect(v.safeParse(DcMessage, { ...msg(), channel_id: "../etc" }).success).toBe(false);
  });
});

describe("discord discovery", () => {
  test("guild text channels and threads; voice and categories skipped", () => {
    const g = v.parse(DcGuildCreate, {
      id: "1",
      name: "Guild",
      channels: [
        { id: "10", type: 0, name: "general" },
        { id: "11", type: 2, name: "voice" },
        { id: "12", type: 4, name: "category" },
        { id: "13", type: 5, name: "news" },
      ],
      threads: [{ id: "14", type: 11, name: "topic" }],
    });
    expect(guildChats(g).map((c) => c.jid)).toEqual(["dc:10", "dc:13", "dc:14"]);
    expect(guildChats(g)[0]).toEqual({ jid: "dc:10", name: "Guild #general", isGroup: true });
    expect(createdChat({ id: "20", type: 1 })).toEqual({ jid: "dc:20", name: undefined, isGroup: false });
    expect(createdChat({ id: "21", type: 2, name: "v" })).toBeUndefined();
  });
});
