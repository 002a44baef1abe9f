import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { mapMessageEvent, MessageEvent, tsToMillis } from "./map.ts";

const ctx = { botUserId: "UBOT", botId: "BBOT", assistantName: "Andy" };
const ev = (e: Record<string, unknown>) => v.parse(MessageEvent, { type: "message", channel: "C1", ...e });

describe("slack event mapping", () => {
  test("mention of the bot becomes @Andy and mentionsBot; other mentions stay", () => {
    const r = mapMessageEvent(
      ev({ user: "U1", ts: "1700000000.000100", text: "<@UBOT|andy> ask <@U2>" }),
      ctx,
    );
    expect(r).toMatchObject({
      kind: "message",
      message: {
        content: "@Andy ask <@U2>",
        mentionsBot: true,
        chatJid: "slack:C1",
        id: "1700000000.000100",
      },
      userId: "U1",
    });
  });

  test("own messages are isFromMe and never mentions, even as bot_message", () => {
    const a = mapMessageEvent(ev({ user: "UBOT", bot_id: "BBOT", ts: "1.2", text: "<@UBOT> hi" }), ctx);
    const b = mapMessageEvent(ev({ subtype: "bot_message", bot_id: "BBOT", ts: "1.3", text: "x" }), ctx);
    for (const r of [a, b]) {
      expect(r.kind).toBe("message");
      if (r.kind === "message") {
        expect(r.message.isFromMe).toBe(true);
        expect(r.message.mentionsBot).toBeUndefined();
      }
    }
  });

  test("edits, deletes, joins and other bots' posts are skipped", () => {
    for (const subtype of ["message_changed", "message_deleted", "channel_join", "bot_message"]) {
      expect(mapMessageEvent(ev({ subtype, user: "U1", bot_id: "BOTHER", ts: "1.1" }), ctx).kind).toBe(
        "ignored",
      );
    }
  });

  test("files become attachments; file_share is a user message", () => {
    const r = mapMessageEvent(
      ev({
        subtype: "file_share",
        user: "U1",
        ts: "1.1",
        text: "look",
        files: [{ name: "a.png", mimetype: "image/png", url_private: "https://files/a.png", size: 10 }],
      }),
      ctx,
    );
    expect(r.kind === "message" && r.message.attachments).toEqual([
      { kind: "image", name: "a.png", mimeType: "image/png", url: "https://files/a.png", size: 10 },
    ]);
  });

  test("ts converts to epoch ms", () => {
    expect(tsToMillis("1700000000.123456")).toBe(1_700_000_000_123);
  });

  test("schema rejects an event without ts", () => {
    expect(v.safeParse(MessageEvent, { type: "message", channel: "C1", text: "x" }).success).toBe(false);
  });
});
