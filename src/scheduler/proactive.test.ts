/** Tasks for chats whose channel cannot send proactively (QQ) are refused when created, with the reason. */
import { afterEach, expect, test } from "bun:test";
import { createHarness, type Harness } from "../../test/support/scheduler-harness.ts";
import { ScheduleError } from "./errors.ts";

let h: Harness;
afterEach(() => h?.close());

const base = { prompt: "daily digest", scheduleType: "cron", scheduleValue: "0 9 * * *" } as const;

function addQqGroup() {
  h.store.groups.add({
    jid: "qq:group:0123456789ABCDEF0123456789ABCDEF",
    name: "qq team",
    folder: "qqteam",
    triggerPattern: null,
    requiresTrigger: true,
    isMain: false,
    containerConfig: null,
  });
}

test("a task whose output goes to a QQ chat is refused up front, explaining QQ's reply-only rule", () => {
  h = createHarness();
  addQqGroup();
  let err: unknown;
  try {
    h.service.create({ ...base, groupFolder: "qqteam" }, { kind: "cli" });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ScheduleError);
  expect((err as ScheduleError).field).toBe("targetJid");
  expect((err as Error).message).toContain("qq:group:0123456789ABCDEF0123456789ABCDEF");
  expect((err as Error).message).toContain("2025-04-21");
  expect((err as Error).message).toMatch(/60 min.*5 min/);
  expect(h.store.tasks.list()).toHaveLength(0);
});

test("the same group's task may still target another channel's chat (main's targetJid)", () => {
  h = createHarness();
  addQqGroup();
  const t = h.service.create({ ...base, groupFolder: "qqteam", targetJid: "tg:200" }, { kind: "cli" });
  expect(t.chatJid).toBe("tg:200");
  // And a WeCom chat can be targeted: WeCom sends proactively.
  expect(
    h.service.create({ ...base, groupFolder: "qqteam", targetJid: "wecom:group:abc" }, { kind: "cli" })
      .chatJid,
  ).toBe("wecom:group:abc");
});
