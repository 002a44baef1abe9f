import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentRunnerLog } from "./io.ts";
import { type Forwarder, startForwarder } from "./proxy-forwarder.ts";

let dir: string;
let forwarder: Forwarder | undefined;
let server: ReturnType<typeof Bun.serve> | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-fwd-"));
});
afterEach(async () => {
  await forwarder?.stop();
  await server?.stop(true);
  forwarder = undefined;
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe("proxy forwarder", () => {
  test("relays requests (method, path, headers, body) to the unix socket, over keep-alive", async () => {
    const sock = join(dir, "proxy.sock");
    server = Bun.serve({
      unix: sock,
      async fetch(req) {
        const url = new URL(req.url);
        return Response.json({
          method: req.method,
          path: url.pathname + url.search,
          key: req.headers.get("x-api-key"),
          body: await req.text(),
        });
      },
    });
    forwarder = await startForwarder(sock, silentRunnerLog);
    expect(forwarder.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${forwarder.url}/v1/messages?beta=true`, {
        method: "POST",
        headers: { "x-api-key": "tok" },
        body: `{"n":${i}}`,
      });
      expect(await res.json()).toEqual({
        method: "POST",
        path: "/v1/messages?beta=true",
        key: "tok",
        body: `{"n":${i}}`,
      });
    }
    expect(forwarder.connections).toBeGreaterThanOrEqual(1);
  });

  test("streams: the first SSE event arrives before the upstream has finished", async () => {
    const sock = join(dir, "proxy.sock");
    let release: () => void = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    server = Bun.serve({
      unix: sock,
      fetch() {
        const enc = new TextEncoder();
        const body = new ReadableStream<Uint8Array>({
          async start(c) {
            c.enqueue(enc.encode("event: message_start\ndata: {}\n\n"));
            await released;
            c.enqueue(enc.encode("event: message_stop\ndata: {}\n\n"));
            c.close();
          },
        });
        return new Response(body, { headers: { "content-type": "text/event-stream" } });
      },
    });
    forwarder = await startForwarder(sock, silentRunnerLog);
    const res = await fetch(`${forwarder.url}/v1/messages`, { method: "POST", body: "{}" });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    let text = "";
    while (!text.includes("message_start")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    // Only the first event can have arrived: the upstream is still holding the second.
    expect(text).toContain("message_start");
    expect(text).not.toContain("message_stop");
    release();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    expect(text).toContain("message_stop");
  });

  test("a missing socket answers 502 with a clear message", async () => {
    forwarder = await startForwarder(join(dir, "nope.sock"), silentRunnerLog);
    const res = await fetch(`${forwarder.url}/v1/messages`, { method: "POST", body: "{}" });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain("credential proxy unreachable");
    expect(body.error.message).toContain("nope.sock");
  });
});
