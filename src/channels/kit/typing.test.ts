import { expect, test } from "bun:test";
import { createTypingRefresher } from "./typing.ts";

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("typing is sent at once, refreshed while on, and stops when turned off", async () => {
  const sent: string[] = [];
  const t = createTypingRefresher({ refreshMs: 10, send: async (jid) => void sent.push(jid) });
  await t.start("tg:1");
  expect(sent).toEqual(["tg:1"]);
  await until(() => sent.length >= 3);
  t.stop("tg:1");
  const after = sent.length;
  await new Promise((r) => setTimeout(r, 40));
  expect(sent.length).toBe(after);
});

test("an indicator nobody turns off gives up after maxMs; stopAll stops every chat", async () => {
  const sent: string[] = [];
  const t = createTypingRefresher({ refreshMs: 5, maxMs: 20, send: async (jid) => void sent.push(jid) });
  await t.start("a");
  await until(() => sent.length >= 2);
  await new Promise((r) => setTimeout(r, 60));
  const settled = sent.length;
  await new Promise((r) => setTimeout(r, 30));
  expect(sent.length).toBe(settled);
  await t.start("b");
  await t.start("c");
  t.stopAll();
  const n = sent.length;
  await new Promise((r) => setTimeout(r, 30));
  expect(sent.length).toBe(n);
});
