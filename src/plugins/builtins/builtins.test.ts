import { expect, test } from "bun:test";
import { testPlugin } from "../testing.ts";
import type { PluginDefinition } from "../types.ts";
import allowlist from "./allowlist.ts";
import autoReply from "./auto-reply.ts";
import mention from "./mention.ts";
import rateLimiter from "./rate-limiter.ts";

const msg = (content: string, extra: Record<string, unknown> = {}) => ({
  chatJid: "tg:1",
  channel: "telegram",
  sender: "ann",
  senderName: "Ann",
  content,
  isFromMe: false,
  isBot: false,
  mentionsBot: false,
  group: { folder: "team", isMain: false },
  ...extra,
});
const def = (d: unknown) => d as PluginDefinition;

test("rate-limiter: per sender and per chat within the window, one notice per window", async () => {
  const t = await testPlugin(def(rateLimiter), {
    config: { perSenderPerMinute: 2, perChatPerMinute: 3, notice: "slow", windowMs: 200 },
  });
  const r = async (sender: string) => (await t.hooks.messageReceived(msg("x", { sender }))).action;
  expect([await r("ann"), await r("ann"), await r("ann")]).toEqual(["continue", "continue", "drop"]);
  expect(await r("bob")).toBe("continue");
  expect(await r("eve")).toBe("drop"); // the chat's 3 are used (ann 2 + bob 1)
  expect(t.sent).toEqual([{ jid: "tg:1", text: "slow" }]);
  const dropped = await t.hooks.messageReceived(msg("x", { sender: "ann" }));
  expect(dropped).toMatchObject({
    action: "drop",
    plugin: "rate-limiter",
    reason: expect.stringContaining("from ann"),
  });
  await Bun.sleep(220);
  expect(await r("ann")).toBe("continue");
  // Unregistered chats and the bot's own messages are not counted.
  for (let i = 0; i < 5; i++)
    expect((await t.hooks.messageReceived(msg("x", { group: undefined }))).action).toBe("continue");
  await t.close();
});

test("allowlist: per group, default list, '*' and a notice once per sender", async () => {
  const t = await testPlugin(def(allowlist), {
    config: { groups: { team: ["ann"], open: ["*"] }, default: ["boss"], notice: "not for you" },
  });
  expect((await t.hooks.messageReceived(msg("hi"))).action).toBe("continue");
  expect(await t.hooks.messageReceived(msg("hi", { sender: "eve" }))).toEqual({
    action: "drop",
    plugin: "allowlist",
    reason: "allowlist: eve may not talk to the bot in team",
  });
  await t.hooks.messageReceived(msg("again", { sender: "eve" }));
  expect(t.sent).toEqual([{ jid: "tg:1", text: "not for you" }]);
  expect(
    (await t.hooks.messageReceived(msg("hi", { sender: "eve", group: { folder: "open", isMain: false } })))
      .action,
  ).toBe("continue");
  expect(
    (await t.hooks.messageReceived(msg("hi", { sender: "ann", group: { folder: "other", isMain: false } })))
      .action,
  ).toBe("drop");
  expect(
    (await t.hooks.messageReceived(msg("hi", { sender: "boss", group: { folder: "other", isMain: false } })))
      .action,
  ).toBe("continue");
  await t.close();
});

test("auto-reply: keywords as whole words, regex, group filter, passThrough, {sender}", async () => {
  const t = await testPlugin(def(autoReply), {
    config: {
      rules: [
        { keywords: ["price"], reply: "10 €, {sender}" },
        { pattern: "^!status$", reply: "all good", groups: ["ops"] },
        { keywords: ["hello"], reply: "hi!", passThrough: true },
      ],
    },
  });
  expect(await t.hooks.messageReceived(msg("What is the PRICE?"))).toEqual({
    action: "drop",
    plugin: "auto-reply",
    reason: "auto-reply: answered by rule 1",
  });
  expect((await t.hooks.messageReceived(msg("priceless"))).action).toBe("continue");
  expect((await t.hooks.messageReceived(msg("!status"))).action).toBe("continue"); // not in "ops"
  expect(
    (await t.hooks.messageReceived(msg("!status", { group: { folder: "ops", isMain: false } }))).action,
  ).toBe("drop");
  expect(await t.hooks.messageReceived(msg("hello there"))).toEqual({
    action: "continue",
    content: "hello there",
  });
  expect(t.sent.map((s) => s.text)).toEqual(["10 €, Ann", "all good", "hi!"]);
  await t.close();
});

test("auto-reply refuses bad rules with the key named", async () => {
  await expect(
    testPlugin(def(autoReply), { config: { rules: [{ pattern: "([", reply: "x" }] }, logLevel: "silent" }),
  ).rejects.toThrow(
    /plugin "auto-reply": config plugins.config.auto-reply.rules.0.pattern: not a valid regular expression/,
  );
  await expect(
    testPlugin(def(autoReply), { config: { rules: [{ reply: "x" }] }, logLevel: "silent" }),
  ).rejects.toThrow(/needs keywords or a pattern/);
});

test("mention: aliases with or without @ as words, and direct messages", async () => {
  const t = await testPlugin(def(mention), { config: { names: ["robo", "Ro Bot"] } });
  expect(await t.hooks.messageReceived(msg("hey @robo, help"))).toEqual({
    action: "continue",
    content: "hey @robo, help",
    mentionsBot: true,
  });
  expect(await t.hooks.messageReceived(msg("ask ro bot please"))).toMatchObject({ mentionsBot: true });
  expect(await t.hooks.messageReceived(msg("robotics is fun"))).toEqual({
    action: "continue",
    content: "robotics is fun",
  });
  expect(await t.hooks.messageReceived(msg("anything", { isDirect: true }))).toMatchObject({
    mentionsBot: true,
  });
  expect(await t.hooks.messageReceived(msg("robo", { isFromMe: true }))).not.toHaveProperty("mentionsBot");
  await t.close();
});
