/**
 * POST /api/send maps a channel's failure by its kind (issue 11): a bad web chat id is a
 * permanent refusal → 400 at once; a platform's transient failure is a 502, a rate limit 429.
 */
import { afterEach, expect, test } from "bun:test";
import { Hono } from "hono";
import { ChannelError, isPermanentChannelError } from "../../src/channels/index.ts";
import { createWebChannel, sendRoutes, UnknownWebChatError } from "../../src/channels/web/index.ts";
import { createEventBus } from "../../src/events/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import type { Deliver } from "../../src/orchestrator/index.ts";
import { createStoreSink, type StoreSink } from "./support.ts";

let sink: StoreSink | undefined;
afterEach(() => sink?.close());

function app(deliver: Deliver) {
  const hono = new Hono();
  sendRoutes(hono, { deliver });
  return (body: unknown) =>
    hono.fetch(
      new Request("http://h/api/send", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    );
}

test("a bad web chat id is a permanent refusal: 400 at once", async () => {
  sink = createStoreSink("ngb-web-send-", "web");
  const web = createWebChannel({ store: sink.store, events: createEventBus(), log: silentLogger() });
  await web.connect(sink);
  const err = await web.send("web:has spaces!", "x").catch((e) => e);
  expect(err).toBeInstanceOf(UnknownWebChatError);
  expect(err.kind).toBe("refused");
  expect(isPermanentChannelError(err)).toBe(true);

  // Delivery wraps the channel's error; the route finds it in the cause.
  const send = app(async ({ chatJid, text }) => {
    try {
      await web.send(chatJid, text);
    } catch (cause) {
      throw new Error(`sending to ${chatJid} failed`, { cause });
    }
    return { status: "sent", seq: null };
  });
  const started = performance.now();
  const res = await send({ jid: "web:has spaces!", text: "hello" });
  expect(performance.now() - started).toBeLessThan(500);
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({
    error: "refused",
    message: expect.stringContaining("not a web chat id"),
  });
  expect((await send({ jid: "web:default", text: "hello" })).status).toBe(201);
  await web.disconnect();
});

test("transient channel failures are 502, rate limits 429", async () => {
  const failWith = (err: unknown) =>
    app(async () => {
      throw err;
    });
  expect(
    (await failWith(new ChannelError("slack", "network", "reset"))({ jid: "slack:C1", text: "x" })).status,
  ).toBe(502);
  expect(
    (await failWith(new ChannelError("slack", "rate_limited", "slow down"))({ jid: "slack:C1", text: "x" }))
      .status,
  ).toBe(429);
});
