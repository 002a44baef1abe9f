import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { startStdioForwarder } from "../../container/agent-runner/src/stdio-forwarder.ts";
import { silentRunnerLog } from "../../container/agent-runner/src/io.ts";
import { AgentFrame, HostFrame, type ProxyStreamFrame } from "../protocol/index.ts";
import { createProxyBridge } from "./proxy-bridge.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const quietLog = { debug() {}, warn() {} };

/** A unix-socket HTTP server standing in for the credential proxy. */
function fakeProxy(handler: (req: Request) => Response | Promise<Response>) {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bridge-"));
  const socketPath = join(dir, "proxy.sock");
  const server = Bun.serve({ unix: socketPath, fetch: handler });
  cleanups.push(() => {
    server.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });
  return socketPath;
}

/**
 * The runner's stdio forwarder and the host's bridge wired through the real frame schemas
 * (every frame is JSON-encoded and validated on the way, as on stdio).
 */
async function wire(socketPath: string, opts: { windowBytes?: number; maxConns?: number } = {}) {
  const seen = { toHost: 0, toAgent: 0, maxInFlight: 0 };
  let bridge: ReturnType<typeof createProxyBridge> | undefined;
  let forwarder: Awaited<ReturnType<typeof startStdioForwarder>> | undefined;
  const toAgent = (frame: ProxyStreamFrame) => {
    const parsed = v.parse(HostFrame, JSON.parse(JSON.stringify(frame)));
    seen.toAgent++;
    queueMicrotask(() => forwarder?.receive(parsed as ProxyStreamFrame));
  };
  bridge = createProxyBridge({ socketPath, send: toAgent, log: quietLog, ...opts });
  forwarder = await startStdioForwarder({
    write: (frame) => {
      const parsed = v.parse(AgentFrame, JSON.parse(JSON.stringify(frame)));
      seen.toHost++;
      if (
        parsed.type === "proxy_open" ||
        parsed.type === "proxy_data" ||
        parsed.type === "proxy_end" ||
        parsed.type === "proxy_ack"
      )
        queueMicrotask(() => bridge?.handle(parsed));
    },
    log: silentRunnerLog,
    ...opts,
  });
  cleanups.push(() => forwarder?.stop());
  return { forwarder, bridge, seen };
}

test("an HTTP request and a streamed response travel over the frames unchanged", async () => {
  const socketPath = fakeProxy(async (req) => {
    const body = await req.text();
    const stream = new ReadableStream({
      async start(ctrl) {
        for (let i = 0; i < 3; i++) {
          ctrl.enqueue(new TextEncoder().encode(`data: ${i} ${body}\n\n`));
          await Bun.sleep(5);
        }
        ctrl.close();
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "x-path": new URL(req.url).pathname },
    });
  });
  const { forwarder, bridge } = await wire(socketPath);
  const res = await fetch(`${forwarder.url}/v1/messages`, { method: "POST", body: "hello" });
  expect(res.headers.get("x-path")).toBe("/v1/messages");
  expect(await res.text()).toBe("data: 0 hello\n\ndata: 1 hello\n\ndata: 2 hello\n\n");
  expect(bridge.stats.conns).toBeGreaterThanOrEqual(1);
});

test("a large body both ways keeps within the window and arrives intact", async () => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  const socketPath = fakeProxy(async (req) => {
    const got = Buffer.from(await req.arrayBuffer());
    return new Response(Buffer.concat([got, got]));
  });
  const { forwarder, bridge } = await wire(socketPath, { windowBytes: 256 * 1024 });
  const res = await fetch(`${forwarder.url}/v1/messages`, { method: "POST", body: big });
  const back = Buffer.from(await res.arrayBuffer());
  expect(back.length).toBe(big.length * 2);
  expect(back.subarray(0, big.length).equals(big)).toBe(true);
  expect(back.subarray(big.length).equals(big)).toBe(true);
  expect(bridge.stats.sent).toBeGreaterThan(big.length * 2); // plus the response headers
  expect(bridge.stats.received).toBeGreaterThan(big.length);
});

test("parallel connections are multiplexed; over the limit the CLI gets a 503, not a hang", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const socketPath = fakeProxy(async (req) => {
    if (new URL(req.url).pathname === "/slow") await gate;
    return new Response(new URL(req.url).pathname);
  });
  const { forwarder } = await wire(socketPath, { maxConns: 2 });
  const slow = [1, 2].map(() => fetch(`${forwarder.url}/slow`, { keepalive: false }));
  await Bun.sleep(50);
  const refused = await fetch(`${forwarder.url}/fast`, { keepalive: false });
  expect(refused.status).toBe(503);
  expect(await refused.text()).toContain("model connections");
  release();
  for (const r of await Promise.all(slow)) expect(await r.text()).toBe("/slow");
});

test("the proxy's socket missing: the connection ends and the CLI sees an error, not a hang", async () => {
  const { forwarder } = await wire("/nonexistent/ngb/proxy.sock");
  const err = await fetch(`${forwarder.url}/v1/messages`, { method: "POST", body: "x" }).then(
    () => null,
    (e: Error) => e,
  );
  expect(err).not.toBeNull();
});

test("a peer that ignores the window is cut off (memory stays bounded)", async () => {
  const sent: ProxyStreamFrame[] = [];
  const socketPath = fakeProxy(async () => {
    await Bun.sleep(1000);
    return new Response("late");
  });
  const bridge = createProxyBridge({
    socketPath,
    send: (f) => sent.push(f),
    log: quietLog,
    windowBytes: 64 * 1024,
  });
  bridge.handle({ type: "proxy_open", conn: 7 });
  const chunk = Buffer.alloc(60 * 1024, 1).toString("base64");
  // The local socket is still connecting, so nothing is flushed: more than two windows waiting.
  for (let i = 0; i < 4; i++) bridge.handle({ type: "proxy_data", conn: 7, b64: chunk });
  expect(sent.some((f) => f.type === "proxy_end" && f.conn === 7 && /window/.test(f.error ?? ""))).toBe(true);
  bridge.close("test over");
});

test("a second open with a live id and frames for unknown connections are refused", () => {
  const sent: ProxyStreamFrame[] = [];
  const bridge = createProxyBridge({
    socketPath: "/nonexistent.sock",
    send: (f) => sent.push(f),
    log: quietLog,
  });
  bridge.handle({ type: "proxy_open", conn: 1 });
  bridge.handle({ type: "proxy_open", conn: 1 });
  bridge.handle({ type: "proxy_data", conn: 99, b64: "aGk=" });
  expect(sent).toContainEqual({ type: "proxy_end", conn: 1, error: "connection id in use" });
  expect(sent).toContainEqual({ type: "proxy_end", conn: 99, error: "no such connection" });
  bridge.close("test over");
});
