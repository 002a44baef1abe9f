import { expect, test } from "bun:test";
import type { LogObject } from "consola/core";
import { createFakeClock } from "../../test/fakes/clock.ts";
import { idleRuntime } from "../../test/support/web-deps.ts";
import { createEventBus } from "../events/index.ts";
import { createLogger, prettyLine } from "../log/index.ts";
import { createMetrics } from "./metrics.ts";
import { createRejections } from "./rejections.ts";

test("10,000 bad webhook calls: all counted in /metrics, one log line and one summary per minute", async () => {
  const fake = createFakeClock();
  const lines: string[] = [];
  const log = createLogger({
    reporters: [{ log: (o: LogObject) => void lines.push(prettyLine(o).slice(10)) }],
    collapse: { now: fake.clock.now, timers: fake.timers },
  });
  const events = createEventBus();
  const metrics = createMetrics(events);
  const rejections = createRejections({ events, log });
  for (let i = 0; i < 10_000; i++) rejections.reject("telegram", "bad_secret");
  rejections.reject("login", "unauthorized");
  await fake.advance(60_000);
  expect(lines).toEqual([
    "WARN  [telegram] public request rejected: bad_secret",
    "WARN  [login] public request rejected: unauthorized",
    "WARN  [telegram] public request rejected: bad_secret (repeated 9,999 times in 60 s)",
  ]);
  const text = metrics.render(idleRuntime());
  expect(text).toContain('ngb_public_requests_rejected_total{source="telegram",reason="bad_secret"} 10000');
  expect(text).toContain('ngb_public_requests_rejected_total{source="login",reason="unauthorized"} 1');
  metrics.stop();
});

test("labels are bounded: request-controlled text never becomes a metric label", () => {
  const events = createEventBus();
  const seen: unknown[] = [];
  events.on("request.rejected", (e) => seen.push(e));
  const rejections = createRejections({ events, log: createLogger({ reporters: [] }) });
  rejections.reject("telegram", 'x"} 1\nevil');
  rejections.reject("a".repeat(100), "bad_body");
  expect(seen).toEqual([
    { source: "telegram", reason: "other" },
    { source: "other", reason: "bad_body" },
  ]);
});
