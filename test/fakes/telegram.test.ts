/**
 * The fake Telegram Bot API keeps the real semantics the adapter relies on: long polls that
 * wait and wake on an update, offsets confirming earlier updates, 409 for overlapping polls.
 */
import { afterEach, expect, test } from "bun:test";
import { until } from "../support/wait.ts";
import { createFakeTelegram, type FakeTelegram } from "./telegram.ts";

let fake: FakeTelegram;
afterEach(() => fake?.stop());

async function call(method: string, params: Record<string, unknown> = {}) {
  const res = await fetch(`${fake.url}/bot${fake.token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(params),
  });
  return (await res.json()) as {
    ok: boolean;
    result?: unknown;
    error_code?: number;
    parameters?: { retry_after?: number };
  };
}

test("getUpdates long-polls: waits, answers as soon as an update is queued", async () => {
  fake = createFakeTelegram();
  const t0 = performance.now();
  const empty = await call("getUpdates", { timeout: 1 });
  expect(empty).toEqual({ ok: true, result: [] });
  expect(performance.now() - t0).toBeGreaterThanOrEqual(900);
  const pending = call("getUpdates", { timeout: 10 });
  await until(() => fake.polling, "the poll to be waiting");
  const t1 = performance.now();
  fake.pushMessage({ chatId: 1, text: "wake" });
  const res = await pending;
  expect(performance.now() - t1).toBeLessThan(1000);
  expect((res.result as { message: { text: string } }[])[0]!.message.text).toBe("wake");
});

test("offsets confirm earlier updates; unconfirmed ones are redelivered", async () => {
  fake = createFakeTelegram();
  const a = fake.pushMessage({ chatId: 1, text: "a" });
  fake.pushMessage({ chatId: 1, text: "b" });
  const first = (await call("getUpdates")).result as { update_id: number; message: { message_id: number } }[];
  expect(first).toHaveLength(2);
  expect(first[0]!.message.message_id).toBe(a);
  const again = (await call("getUpdates")).result as unknown[];
  expect(again).toHaveLength(2); // not confirmed yet
  const next = (await call("getUpdates", { offset: first[0]!.update_id + 1 })).result as unknown[];
  expect(next).toHaveLength(1);
  expect(fake.pending).toBe(1);
});

test("an overlapping poll terminates the older one with 409; 429 carries retry_after; bad token 401", async () => {
  fake = createFakeTelegram();
  const older = call("getUpdates", { timeout: 5 });
  await until(() => fake.polling, "the poll to be waiting");
  const newer = call("getUpdates", { timeout: 0 });
  expect((await older).error_code).toBe(409);
  expect((await newer).ok).toBe(true);
  fake.rateLimit("sendMessage", 7);
  const limited = await call("sendMessage", { chat_id: 1, text: "x" });
  expect(limited.error_code).toBe(429);
  expect(limited.parameters?.retry_after).toBe(7);
  expect((await call("sendMessage", { chat_id: 1, text: "y".repeat(4097) })).error_code).toBe(400);
  const res = await fetch(`${fake.url}/bot1:wrong/getMe`);
  expect(res.status).toBe(401);
});
