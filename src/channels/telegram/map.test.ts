import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { describeIssue, mapUpdate, TgUpdate } from "./map.ts";

const bot = { id: 99, username: "AndyBot" };
const group = { id: -100, type: "supergroup", title: "Team" };

function parse(raw: unknown) {
  const r = v.safeParse(TgUpdate, raw);
  if (!r.success) throw new Error(describeIssue(r.issues));
  return r.output;
}

describe("telegram mapUpdate", () => {
  test("mention entity matching is case-insensitive and exact", () => {
    const text = "hi @andybot and @AndyBotFan";
    const mk = (offset: number, length: number) =>
      mapUpdate(
        parse({
          update_id: 1,
          message: {
            message_id: 5,
            date: 1_700_000_000,
            chat: group,
            from: { id: 1, first_name: "A" },
            text,
            entities: [{ type: "mention", offset, length }],
          },
        }),
        bot,
      ).message!;
    expect(mk(3, 8).mentionsBot).toBe(true);
    expect(mk(16, 11).mentionsBot).toBeUndefined();
    const m = mk(3, 8);
    expect(m).toMatchObject({
      id: "5",
      chatJid: "tg:-100",
      sender: "1",
      senderName: "A",
      timestamp: 1_700_000_000_000,
    });
  });

  test("text_mention, /command@bot and caption entities count as mentions", () => {
    const base = { message_id: 1, date: 1, chat: group, from: { id: 1, first_name: "A" } };
    const tm = parse({
      update_id: 1,
      message: {
        ...base,
        text: "Andy help",
        entities: [{ type: "text_mention", offset: 0, length: 4, user: { id: 99 } }],
      },
    });
    expect(mapUpdate(tm, bot).message!.mentionsBot).toBe(true);
    const cmd = parse({
      update_id: 2,
      message: {
        ...base,
        text: "/status@AndyBot",
        entities: [{ type: "bot_command", offset: 0, length: 15 }],
      },
    });
    expect(mapUpdate(cmd, bot).message!.mentionsBot).toBe(true);
    const cap = parse({
      update_id: 3,
      message: {
        ...base,
        caption: "@AndyBot see",
        caption_entities: [{ type: "mention", offset: 0, length: 8 }],
        document: { file_id: "f", file_name: "a.pdf", mime_type: "application/pdf", file_size: 10 },
      },
    });
    const m = mapUpdate(cap, bot).message!;
    expect(m.mentionsBot).toBe(true);
    expect(m.content).toBe("@AndyBot see");
    expect(m.attachments).toEqual([{ kind: "file", name: "a.pdf", mimeType: "application/pdf", size: 10 }]);
  });

  test("channel posts use the sender chat; service messages carry nothing to store", () => {
    const post = parse({
      update_id: 1,
      channel_post: {
        message_id: 3,
        date: 1,
        chat: { id: -200, type: "channel", title: "News" },
        sender_chat: { id: -200, title: "News" },
        text: "breaking",
      },
    });
    expect(mapUpdate(post, bot).message).toMatchObject({
      sender: "-200",
      senderName: "News",
      content: "breaking",
    });
    const joined = parse({
      update_id: 2,
      message: {
        message_id: 4,
        date: 1,
        chat: group,
        new_chat_members: [{ id: 99, is_bot: true, first_name: "Andy" }],
      },
    });
    const mapped = mapUpdate(joined, bot);
    expect(mapped.message).toBeUndefined();
    expect(mapped.discovered).toEqual({ jid: "tg:-100", name: "Team", isGroup: true });
  });

  test("my_chat_member: joined → discovered; left → nothing", () => {
    const mk = (status: string) =>
      parse({
        update_id: 1,
        my_chat_member: { chat: group, new_chat_member: { status, user: { id: 99, first_name: "Andy" } } },
      });
    expect(mapUpdate(mk("administrator"), bot).discovered?.jid).toBe("tg:-100");
    expect(mapUpdate(mk("left"), bot).discovered).toBeUndefined();
  });

  test("validation names the bad field", () => {
    const r = v.safeParse(TgUpdate, { update_id: 1, message: { message_id: 1, date: "x", chat: group } });
    expect(r.success).toBe(false);
    if (!r.success) expect(describeIssue(r.issues)).toStartWith("message.date:");
  });
});
