import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { Config } from "../config/index.ts";
import { escapeXml, formatMessages } from "./format.ts";
import { isTriggered, triggerRegex } from "./trigger.ts";

const config = v.parse(Config, { assistantName: "Andy" });

describe("XML formatting", () => {
  test("messages carry sender and ISO time; text is escaped", () => {
    const xml = formatMessages([
      { sender: "u1", senderName: "Ann", content: "hi <b>&</b>", timestamp: Date.UTC(2026, 0, 2, 3, 4, 5) },
      {
        sender: "u2",
        senderName: 'Bob "the" <dev>',
        content: '</message><message sender="x">',
        timestamp: 0,
      },
    ]);
    expect(xml).toBe(
      [
        "<messages>",
        '<message sender="Ann" time="2026-01-02T03:04:05.000Z">hi &lt;b&gt;&amp;&lt;/b&gt;</message>',
        '<message sender="Bob &quot;the&quot; &lt;dev&gt;" time="1970-01-01T00:00:00.000Z">&lt;/message&gt;&lt;message sender=&quot;x&quot;&gt;</message>',
        "</messages>",
      ].join("\n"),
    );
  });

  test("control characters XML forbids are dropped; newlines and tabs kept", () => {
    expect(escapeXml("a\u0000b\u0007c\nd\te'")).toBe("abc\nd\te&apos;");
  });

  test("the sender id stands in for an empty name", () => {
    expect(formatMessages([{ sender: "+123", senderName: "", content: "x", timestamp: 0 }])).toContain(
      'sender="+123"',
    );
  });
});

describe("trigger matching", () => {
  const group = { triggerPattern: null, requiresTrigger: true };

  test("default trigger is ^@<assistant>\\b, case-insensitive", () => {
    expect(isTriggered({ content: "@Andy hello", isFromMe: false }, group, config)).toBe(true);
    expect(isTriggered({ content: "  @andy, hi", isFromMe: false }, group, config)).toBe(true);
    expect(isTriggered({ content: "hello @Andy", isFromMe: false }, group, config)).toBe(false);
    expect(isTriggered({ content: "@Andyx", isFromMe: false }, group, config)).toBe(false);
  });

  test("a group's own pattern replaces the default", () => {
    const g = { triggerPattern: "^!bot\\b", requiresTrigger: true };
    expect(isTriggered({ content: "!bot go", isFromMe: false }, g, config)).toBe(true);
    expect(isTriggered({ content: "@Andy go", isFromMe: false }, g, config)).toBe(false);
  });

  test("an invalid stored pattern falls back to the default", () => {
    expect(triggerRegex({ triggerPattern: "([" }, config).source).toBe("^@Andy\\b");
  });

  test("mentionsBot triggers without the text; requiresTrigger=false takes every message", () => {
    expect(isTriggered({ content: "hi", isFromMe: false, mentionsBot: true }, group, config)).toBe(true);
    expect(
      isTriggered(
        { content: "hi", isFromMe: false },
        { triggerPattern: null, requiresTrigger: false },
        config,
      ),
    ).toBe(true);
  });

  test("the bot's own messages never trigger", () => {
    const always = { triggerPattern: null, requiresTrigger: false };
    expect(isTriggered({ content: "@Andy hi", isFromMe: true }, group, config)).toBe(false);
    expect(isTriggered({ content: "hi", isFromMe: false, isBot: true }, always, config)).toBe(false);
  });

  test("config.triggerPattern changes the default", () => {
    const c = v.parse(Config, { triggerPattern: "^hey bot" });
    expect(isTriggered({ content: "Hey Bot what", isFromMe: false }, group, c)).toBe(true);
  });
});
