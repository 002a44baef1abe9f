import { expect, test } from "bun:test";
import type { ConsolaReporter, LogObject } from "consola/core";
import { createFakeClock } from "../../test/fakes/clock.ts";
import { createLogger, flushLog, prettyLine } from "./index.ts";

function setup(windowMs = 60_000) {
  const fake = createFakeClock("2026-01-05T08:00:00Z");
  const lines: string[] = [];
  const sink: ConsolaReporter = { log: (obj: LogObject) => void lines.push(prettyLine(obj).slice(10)) };
  const log = createLogger({
    level: "info",
    reporters: [sink],
    collapse: { windowMs, now: fake.clock.now, timers: fake.timers },
  });
  return { fake, lines, log };
}

test("repeats within the window are counted; one summary when it closes", async () => {
  const { fake, lines, log } = setup();
  const web = log.withTag("telegram");
  for (let i = 0; i < 10_000; i++) web.warn("public request rejected: bad_secret", { n: i });
  expect(lines).toEqual(['WARN  [telegram] public request rejected: bad_secret {"n":0}']);
  await fake.advance(59_999);
  expect(lines).toHaveLength(1);
  await fake.advance(1);
  expect(lines).toEqual([
    'WARN  [telegram] public request rejected: bad_secret {"n":0}',
    'WARN  [telegram] public request rejected: bad_secret (repeated 9,999 times in 60 s) {"n":9999}',
  ]);
  // The next window starts with a line of its own again.
  web.warn("public request rejected: bad_secret", { n: 1 });
  expect(lines).toHaveLength(3);
  await fake.advance(60_000);
  expect(lines).toHaveLength(3);
});

test("every error is accounted for: 40 disk-full errors are one line and a summary of 39", async () => {
  const { fake, lines, log } = setup();
  const store = log.withTag("store");
  for (let i = 0; i < 40; i++) {
    store.error("write failed", { error: "database or disk is full" });
    await fake.advance(100);
  }
  await fake.advance(60_000);
  expect(lines).toEqual([
    'ERROR [store] write failed {"error":"database or disk is full"}',
    'ERROR [store] write failed (repeated 39 times in 60 s) {"error":"database or disk is full"}',
  ]);
});

test("different sources, messages or errors are never merged; info passes through", async () => {
  const { lines, log } = setup();
  log.withTag("a").warn("x", { error: "one" });
  log.withTag("a").warn("x", { error: "two" });
  log.withTag("b").warn("x", { error: "one" });
  log.withTag("a").error("x", { error: "one" });
  log.withTag("a").warn("y", { error: "one" });
  log.withTag("a").info("hello");
  log.withTag("a").info("hello");
  expect(lines).toHaveLength(7);
});

test("flush writes pending summaries at once (shutdown), with the time actually elapsed", async () => {
  const { fake, lines, log } = setup();
  const q = log.withTag("queue");
  q.error("job failed", { error: "engine down" });
  await fake.advance(5_000);
  q.error("job failed", { error: "engine down" });
  q.error("job failed", { error: "engine down" });
  flushLog(log);
  expect(lines.at(-1)).toBe('ERROR [queue] job failed (repeated 2 times in 5 s) {"error":"engine down"}');
  expect(fake.pendingTimers()).toEqual([]);
  flushLog(log);
  expect(lines).toHaveLength(2);
});

test("a window of 0 turns collapsing off", () => {
  const { lines, log } = setup(0);
  for (let i = 0; i < 5; i++) log.warn("same");
  expect(lines).toHaveLength(5);
});
