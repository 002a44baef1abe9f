/** QQ events → messages: chat ids per kind, mentions, unescaping, authorship, bad events. */
import { expect, test } from "bun:test";
import { mapEvent, parseJid } from "./map.ts";

const ctx = { assistantName: "Andy", botId: "42", now: 1_700_000_000_000 };

test("group @message: mention normalised, always a trigger, timestamp from RFC 3339", () => {
  const m = mapEvent(
    "GROUP_AT_MESSAGE_CREATE",
    {
      id: "ROBOT1.0_a",
      author: { member_openid: "M1" },
      content: " 123 &lt;b&gt;",
      group_openid: "G1",
      timestamp: "2023-11-06T13:37:18+08:00",
    },
    ctx,
  );
  expect(m).toMatchObject({
    kind: "message",
    target: { kind: "group", id: "G1" },
    message: {
      chatJid: "qq:group:G1",
      content: "@Andy 123 <b>",
      mentionsBot: true,
      timestamp: Date.parse("2023-11-06T13:37:18+08:00"),
    },
  });
});

test("guild: <@!bot> stripped; DM keyed by guild id; our own bot's post is isFromMe + isBot", () => {
  const base = { id: "x", channel_id: "C1", guild_id: "G9", author: { id: "7", username: "al" } };
  expect(mapEvent("AT_MESSAGE_CREATE", { ...base, content: "<@!42> hi" }, ctx)).toMatchObject({
    message: { chatJid: "qq:channel:C1", content: "@Andy hi", mentionsBot: true },
  });
  const dm = mapEvent("DIRECT_MESSAGE_CREATE", { ...base, content: "yo" }, ctx);
  expect(dm).toMatchObject({ message: { chatJid: "qq:dm:G9", content: "yo" } });
  expect((dm as { message: { mentionsBot?: boolean } }).message.mentionsBot).toBeUndefined();
  const own = mapEvent("AT_MESSAGE_CREATE", { ...base, author: { id: "42", bot: true }, content: "x" }, ctx);
  expect(own).toMatchObject({ message: { isFromMe: true, isBot: true } });
  const other = mapEvent("AT_MESSAGE_CREATE", { ...base, author: { id: "8", bot: true }, content: "x" }, ctx);
  expect((other as { message: { isFromMe?: boolean; isBot?: boolean } }).message).toMatchObject({
    isBot: true,
  });
});

test("discovery events, known-but-unused, unknown and invalid events", () => {
  expect(mapEvent("GROUP_ADD_ROBOT", { group_openid: "G2" }, ctx)).toEqual({
    kind: "discovered",
    chat: { jid: "qq:group:G2", isGroup: true },
  });
  expect(mapEvent("FRIEND_ADD", { openid: "U2" }, ctx)).toMatchObject({
    kind: "discovered",
    chat: { jid: "qq:c2c:U2" },
  });
  expect(mapEvent("GROUP_MSG_REJECT", {}, ctx)).toEqual({ kind: "ignored", reason: "" });
  expect(mapEvent("WHATEVER", {}, ctx)).toEqual({ kind: "ignored", reason: "unknown event" });
  expect(mapEvent("C2C_MESSAGE_CREATE", { id: "x", author: {} }, ctx)).toMatchObject({ kind: "ignored" });
  expect(mapEvent("C2C_MESSAGE_CREATE", null, ctx)).toMatchObject({ kind: "ignored" });
});

test("chat ids parse only in the four documented forms", () => {
  expect(parseJid("qq:c2c:ABC")).toEqual({ kind: "c2c", id: "ABC" });
  expect(parseJid("qq:dm:9")).toEqual({ kind: "dm", id: "9" });
  expect(parseJid("qq:guild:1")).toBeUndefined();
  expect(parseJid("qq:c2c:")).toBeUndefined();
  expect(parseJid("qq:c2c:a/b")).toBeUndefined();
});
