/** WeCom payloads → messages: group mentions, 1:1, mixed and voice, app XML, byte splitting. */
import { expect, test } from "bun:test";
import { mapAibotMessage, mapAppXml, normalizeMention, parseJid } from "./map.ts";
import { splitBytes, utf8Length } from "./split.ts";

const ctx = { assistantName: "Andy", botName: "Robot A", now: 1_700_000_000_000 };

test("group: the bot's @name (even with a space) becomes @Andy; a trigger; create_time in seconds", () => {
  const m = mapAibotMessage(
    {
      msgid: "m1",
      chatid: "wr1",
      chattype: "group",
      from: { userid: "zs" },
      msgtype: "text",
      text: { content: "@Robot A hello" },
      create_time: 1_700_000_001,
    },
    ctx,
  );
  expect(m.message).toMatchObject({
    id: "m1",
    chatJid: "wecom:group:wr1",
    content: "@Andy hello",
    mentionsBot: true,
    timestamp: 1_700_000_001_000,
  });
  expect(normalizeMention("@OtherName\u2005hi", "Andy")).toBe("@Andy hi");
});

test("1:1, mixed and voice (either transcript field)", () => {
  const single = mapAibotMessage(
    { msgid: "m2", chattype: "single", from: { userid: "ls" }, msgtype: "text", text: { content: "hi" } },
    ctx,
  );
  expect(single.message).toMatchObject({ chatJid: "wecom:user:ls", content: "hi", timestamp: ctx.now });
  expect(single.message.mentionsBot).toBeUndefined();
  const mixed = mapAibotMessage(
    {
      msgid: "m3",
      chattype: "single",
      from: { userid: "ls" },
      msgtype: "mixed",
      mixed: {
        msg_item: [
          { msgtype: "text", text: { content: "a" } },
          { msgtype: "image", image: { url: "u" } },
          { msgtype: "text", text: { content: "b" } },
        ],
      },
    },
    ctx,
  );
  expect(mixed.message).toMatchObject({ content: "a\nb", attachments: [{ kind: "image" }] });
  for (const voice of [{ content: "说话" }, { text: "说话" }])
    expect(
      mapAibotMessage(
        { msgid: "v", chattype: "single", from: { userid: "ls" }, msgtype: "voice", voice },
        ctx,
      ).message.content,
    ).toBe("说话");
});

test("app XML: corp id and agent id checked, events are discovery only", () => {
  const x = {
    ToUserName: "ww1",
    FromUserName: "u1",
    CreateTime: "1700000000",
    MsgType: "text",
    Content: "hi",
    MsgId: "123",
    AgentID: "100",
  };
  expect(mapAppXml(x, { corpId: "ww1", agentId: "100", now: 0 })).toMatchObject({
    kind: "message",
    message: { id: "123", chatJid: "wecom:user:u1" },
  });
  expect(mapAppXml(x, { corpId: "ww2", now: 0 })).toMatchObject({ kind: "ignored" });
  expect(mapAppXml(x, { corpId: "ww1", agentId: "999", now: 0 })).toMatchObject({ kind: "ignored" });
  expect(mapAppXml({ ...x, MsgType: "event", Event: "enter_agent" }, { corpId: "ww1", now: 0 }).kind).toBe(
    "event",
  );
  expect(parseJid("wecom:group:x")).toEqual({ kind: "group", id: "x" });
  expect(parseJid("wecom:hook:x")).toBeUndefined();
});

test("splitBytes: every chunk within the byte limit, nothing lost, ASCII uses the full limit", () => {
  const zh = "企业微信机器人。".repeat(2000);
  const chunks = splitBytes(zh, 2048);
  expect(chunks.every((c) => utf8Length(c) <= 2048)).toBe(true);
  expect(chunks.join("")).toBe(zh);
  expect(splitBytes("a".repeat(4096), 2048)).toEqual(["a".repeat(2048), "a".repeat(2048)]);
  expect(
    splitBytes("😀".repeat(600), 2048).every((c) => utf8Length(c) <= 2048 && !c.includes("\uFFFD")),
  ).toBe(true);
});
