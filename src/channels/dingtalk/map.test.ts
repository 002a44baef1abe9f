import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { looksLikeMarkdown, markdownTitle, openApiPayload, webhookBody } from "./format.ts";
import { ackDataFor, ackFrame, parseFrame } from "./frames.ts";
import { isEncryptedUserId, MAX_CONTENT_CHARS, mapRobotMessage, parseJid, RobotMessage } from "./map.ts";

/** The robot message sample of developerpedia docs/learn/stream/protocol.md (createAt fixed). */
const SAMPLE = {
  conversationId: "cidAsXSBLnA==",
  atUsers: [{ dingtalkId: "$:LWCP_v1:$4TgHFUDZ8Qi8qr3" }],
  chatbotCorpId: "ding9fcd16741",
  chatbotUserId: "$:LWCP_v1:$x3vTgHFUDZ8Qi8qr3",
  msgId: "msgLICYeHgY4JtMQw==",
  senderNick: "用户",
  isAdmin: true,
  senderStaffId: "16650698",
  sessionWebhookExpiredTime: 1690367502152,
  createAt: 1690362101894,
  senderCorpId: "ding9d16741",
  conversationType: "2",
  senderId: "$:LWCP_v1:$jqTgIfhRX9Q==",
  conversationTitle: "测试群",
  isInAtList: true,
  sessionWebhook: "https://oapi.dingtalk.com/robot/sendBySession?session=76da36b48f59e8",
  text: { content: " 测试数据" },
  robotCode: "dingr3xc0b",
  msgtype: "text",
};

const ctx = { assistantName: "Andy", now: 1 };

describe("robot messages", () => {
  test("the documented group sample maps to a triggered message with its webhook", () => {
    const m = mapRobotMessage(v.parse(RobotMessage, SAMPLE), ctx);
    if (m.kind !== "message") throw new Error(m.reason);
    expect(m.message).toEqual({
      id: "msgLICYeHgY4JtMQw==",
      chatJid: "dingtalk:group:cidAsXSBLnA==",
      sender: "16650698",
      senderName: "用户",
      content: "@Andy 测试数据",
      timestamp: 1690362101894,
      mentionsBot: true,
    });
    expect(m.chat).toEqual({ jid: "dingtalk:group:cidAsXSBLnA==", name: "测试群", isGroup: true });
    expect(m.webhook).toEqual({ url: SAMPLE.sessionWebhook, expiresAt: 1690367502152 });
    // The sample's webhook lives 90 minutes.
    expect(Math.round((SAMPLE.sessionWebhookExpiredTime - SAMPLE.createAt) / 60_000)).toBe(90);
  });

  test("1:1 by staff id, external users by sender id, bad shapes refused by name", () => {
    const oto = mapRobotMessage(
      v.parse(RobotMessage, { ...SAMPLE, conversationType: "1", isInAtList: undefined }),
      ctx,
    );
    expect(oto.kind === "message" && oto.message.chatJid).toBe("dingtalk:user:16650698");
    expect(oto.kind === "message" && oto.message.content).toBe("测试数据");
    const ext = mapRobotMessage(
      v.parse(RobotMessage, { ...SAMPLE, conversationType: 1, senderStaffId: undefined }),
      ctx,
    );
    expect(ext.kind === "message" && ext.message.chatJid).toBe("dingtalk:user:$:LWCP_v1:$jqTgIfhRX9Q==");
    expect(isEncryptedUserId("$:LWCP_v1:$jqTgIfhRX9Q==")).toBe(true);
    const bad = v.safeParse(RobotMessage, { ...SAMPLE, conversationType: "3" });
    expect(bad.success).toBe(false);
    expect(v.safeParse(RobotMessage, { ...SAMPLE, msgId: "" }).success).toBe(false);
  });

  test("the bot's own message is stored as from-me; huge text is cut; other types get placeholders", () => {
    const own = mapRobotMessage(v.parse(RobotMessage, { ...SAMPLE, senderId: SAMPLE.chatbotUserId }), ctx);
    expect(own.kind === "message" && [own.message.isFromMe, own.message.isBot]).toEqual([true, true]);
    const huge = mapRobotMessage(
      v.parse(RobotMessage, { ...SAMPLE, text: { content: "x".repeat(30_000) } }),
      ctx,
    );
    expect(huge.kind === "message" && huge.truncated).toBe(true);
    expect(huge.kind === "message" && huge.message.content.length).toBeLessThan(MAX_CONTENT_CHARS + 20);
    const audio = mapRobotMessage(
      v.parse(RobotMessage, { ...SAMPLE, msgtype: "audio", content: { recognition: "你好" } }),
      ctx,
    );
    expect(audio.kind === "message" && audio.message.content).toBe("@Andy 你好");
    const file = mapRobotMessage(
      v.parse(RobotMessage, { ...SAMPLE, msgtype: "file", content: { fileName: "a.pdf" } }),
      ctx,
    );
    expect(file.kind === "message" && file.message.attachments).toEqual([{ kind: "file", name: "a.pdf" }]);
  });

  test("jids parse both ways and nothing else", () => {
    expect(parseJid("dingtalk:group:cid1==")).toEqual({ kind: "group", id: "cid1==" });
    expect(parseJid("dingtalk:user:$:LWCP_v1:$x")).toEqual({ kind: "user", id: "$:LWCP_v1:$x" });
    expect(parseJid("dingtalk:cid1")).toBeNull();
    expect(parseJid("tg:1")).toBeNull();
  });
});

describe("frames", () => {
  test("the documented ping is answered with its data; callbacks and events get their ack data", () => {
    const ping = parseFrame(
      '{"type":"SYSTEM","headers":{"topic":"ping","messageId":"213d841d_972_1898bb26334_70a7","contentType":"application/json"},"data":"{\\"opaque\\" : \\"123-dsfs\\"}"}',
    );
    if (!ping.ok) throw new Error(ping.reason);
    expect(ackFrame("213d841d_972_1898bb26334_70a7", ackDataFor(ping.frame))).toEqual({
      code: 200,
      headers: { contentType: "application/json", messageId: "213d841d_972_1898bb26334_70a7" },
      message: "OK",
      data: '{"opaque" : "123-dsfs"}',
    });
    const cb = parseFrame('{"type":"CALLBACK","headers":{"messageId":"m"},"data":"{}"}');
    expect(cb.ok && ackDataFor(cb.frame)).toBe('{"response":null}');
    const ev = parseFrame('{"type":"EVENT","headers":{"messageId":"m"},"data":"{}"}');
    expect(ev.ok && JSON.parse(ackDataFor(ev.frame))).toEqual({ status: "SUCCESS", message: "success" });
  });

  test("refusals name the problem and keep the messageId when there is one", () => {
    expect(parseFrame("nope")).toEqual({ ok: false, reason: "frame is not JSON" });
    expect(parseFrame('{"type":"CALLBACK","headers":{"messageId":"m1"},"data":5}')).toEqual({
      ok: false,
      reason: "frame has no valid data",
      messageId: "m1",
    });
    const big = parseFrame(`"${"x".repeat(1_100_000)}"`);
    expect(big.ok).toBe(false);
  });
});

describe("format", () => {
  test("markdown is detected and titled; plain text stays text", () => {
    expect(looksLikeMarkdown("hello there")).toBe(false);
    expect(looksLikeMarkdown("# Title\nbody")).toBe(true);
    expect(looksLikeMarkdown("see [docs](https://x.y)")).toBe(true);
    expect(markdownTitle("\n## **Big** news\nmore", "Andy")).toBe("Big news");
    expect(markdownTitle("```\n", "Andy")).toBe("Andy");
    expect(webhookBody("hi", "Andy")).toEqual({ msgtype: "text", text: { content: "hi" } });
    expect(openApiPayload("- a\n- b", "Andy")).toEqual({
      msgKey: "sampleMarkdown",
      msgParam: JSON.stringify({ title: "a", text: "- a\n- b" }),
    });
    expect(openApiPayload("hi", "Andy")).toEqual({ msgKey: "sampleText", msgParam: '{"content":"hi"}' });
  });
});
