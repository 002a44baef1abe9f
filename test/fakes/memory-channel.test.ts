import { expect, test } from "bun:test";
import { createMemoryChannel } from "./memory-channel.ts";

test("splits like a platform, resumes at fromChunk, reports chunks, de-duplicates re-sends by key", async () => {
  const ch = createMemoryChannel("mem:", "memory", { chunkLimit: 10, dedupesSends: true });
  expect(ch.dedupesSends).toBe(true);
  const done: number[] = [];
  await ch.send("mem:1", "aaaa bbbb cccc dddd", { idempotencyKey: "r1", onChunkSent: (i) => done.push(i) });
  expect(ch.sent.map((s) => s.chunk)).toEqual([0, 1]);
  expect(done).toEqual([0, 1]);
  await ch.send("mem:1", "aaaa bbbb cccc dddd", { idempotencyKey: "r1" });
  expect(ch.sent).toHaveLength(2);
  expect(ch.deduplicated).toEqual(["r1#0", "r1#1"]);
  await ch.send("mem:1", "aaaa bbbb cccc dddd", { idempotencyKey: "r2", fromChunk: 1 });
  expect(ch.sent.map((s) => [s.idempotencyKey, s.chunk])).toEqual([
    ["r1", 0],
    ["r1", 1],
    ["r2", 1],
  ]);
  expect(ch.calls).toHaveLength(3);
});

test("without options it records whole texts as before; failNext fails a chunk", async () => {
  const ch = createMemoryChannel();
  await ch.send("mem:1", "hello", { threadId: "t", replyToId: "m9" });
  expect(ch.sent).toEqual([{ jid: "mem:1", text: "hello", threadId: "t" }]);
  expect(ch.calls[0]!.options?.replyToId).toBe("m9");
  ch.failNext = 1;
  await expect(ch.send("mem:1", "x")).rejects.toThrow("platform said no");
});
