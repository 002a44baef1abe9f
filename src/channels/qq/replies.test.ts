/** The passive-reply book: windows per chat kind, reply counts, msg_seq never reused, bounded. */
import { expect, test } from "bun:test";
import { createReplyBook, describeRule } from "./replies.ts";

test("group: 5 replies within 5 min, seq 1..5, then refused; a newer message opens a new budget", () => {
  const b = createReplyBook();
  b.note("qq:group:G", "group", "m1", 0);
  const seqs = Array.from({ length: 5 }, () => b.take("qq:group:G", "group", 1000));
  expect(seqs.map((g) => (g.ok ? `${g.msgId}/${g.seq}` : "no"))).toEqual([
    "m1/1",
    "m1/2",
    "m1/3",
    "m1/4",
    "m1/5",
  ]);
  const sixth = b.take("qq:group:G", "group", 1000);
  expect(sixth.ok).toBe(false);
  if (!sixth.ok) expect(sixth.reason).toContain("all 5 replies");
  b.note("qq:group:G", "group", "m2", 2000);
  expect(b.take("qq:group:G", "group", 2000 + 5 * 60_000)).toEqual({ ok: true, msgId: "m2", seq: 1 });
  expect(b.take("qq:group:G", "group", 2001 + 5 * 60_000).ok).toBe(false);
});

test("c2c: 60 min window; replyToId picks the answered message; another chat's id is not used", () => {
  const b = createReplyBook();
  b.note("qq:c2c:U", "c2c", "a", 0);
  b.note("qq:c2c:U", "c2c", "b", 10 * 60_000);
  b.note("qq:c2c:V", "c2c", "x", 0);
  expect(b.take("qq:c2c:U", "c2c", 59 * 60_000, "a")).toEqual({ ok: true, msgId: "a", seq: 1 });
  // "a" is past its window: the chat's latest message "b" (still within its own) is answered.
  expect(b.take("qq:c2c:U", "c2c", 61 * 60_000, "a")).toEqual({ ok: true, msgId: "b", seq: 1 });
  expect(b.take("qq:c2c:U", "c2c", 71 * 60_000, "a").ok).toBe(false);
  // Another chat's message id is never used.
  expect(b.take("qq:c2c:V", "c2c", 1000, "a")).toEqual({ ok: true, msgId: "x", seq: 1 });
});

test("an older message delivered late does not replace the latest; the book is bounded", () => {
  const b = createReplyBook(3);
  b.note("qq:dm:D", "dm", "new", 5000);
  b.note("qq:dm:D", "dm", "old", 1000);
  expect(b.take("qq:dm:D", "dm", 6000)).toMatchObject({ ok: true, msgId: "new" });
  for (let i = 0; i < 10; i++) b.note(`qq:c2c:${i}`, "c2c", `m${i}`, i);
  expect(b.size).toBe(3);
});

test("the rule in words names the window and count", () => {
  expect(describeRule("group")).toContain("within 5 min");
  expect(describeRule("c2c")).toContain("within 60 min of it, at most 5 replies per message");
  expect(describeRule("channel")).not.toContain("replies per message");
});
