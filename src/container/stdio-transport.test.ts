/**
 * The runner with `container.transport: "stdio"`: the agent's `proxy_*` frames reach the real
 * credential-proxy socket through the host's bridge and the answers come back on the agent's
 * stdin; model bytes do not count against the output cap; the command line names no host path.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { scripted } from "../../test/fakes/scripted-cli.ts";
import { Config } from "../config/index.ts";
import { silentLogger } from "../log/index.ts";
import { type AgentFrame, formatFrame, HostFrame } from "../protocol/index.ts";
import type { RegisteredGroup } from "../store/index.ts";
import { createDockerRunner } from "./docker-runner.ts";

let root: string;
let server: ReturnType<typeof Bun.serve> | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ngb-stdio-"));
  mkdirSync(join(root, "groups", "fam"), { recursive: true });
});
afterEach(() => {
  server?.stop(true);
  rmSync(root, { recursive: true, force: true });
});

const group: RegisteredGroup = {
  jid: "web:fam",
  name: "fam",
  folder: "fam",
  triggerPattern: null,
  requiresTrigger: false,
  isMain: false,
  containerConfig: null,
  addedAt: 0,
};

test("model traffic goes over stdio to the proxy socket and back; it is not agent output", async () => {
  const socketPath = join(root, "proxy.sock");
  const seen: string[] = [];
  server = Bun.serve({
    unix: socketPath,
    fetch: async (req) => {
      seen.push(`${req.method} ${new URL(req.url).pathname} ${req.headers.get("x-api-key")}`);
      return new Response("model says hi");
    },
  });
  const big = Buffer.alloc(60 * 1024, 0x61).toString("base64");
  const toAgent: v.InferOutput<typeof HostFrame>[] = [];
  const { spawn, calls } = scripted(
    (cmd) => (cmd.includes("NGB_SYNC_MODE=get") ? { code: 0, stdout: "[]" } : { code: 0, stdout: "ok\n" }),
    (cmd) =>
      cmd.includes("ngb-agent:latest") && !cmd.some((a) => a.startsWith("NGB_SYNC_MODE"))
        ? {
            onStdin(chunk, io) {
              for (const line of chunk.split("\n").filter(Boolean)) {
                const frame = v.parse(HostFrame, JSON.parse(line));
                toAgent.push(frame);
                const out = (f: AgentFrame) => io.out(formatFrame(f));
                if (frame.type === "start") {
                  // 12 chunks of 60 KiB of "request body" (more than maxOutputBytes below) first.
                  out({ type: "proxy_open", conn: 1 });
                  const req =
                    "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: tok-1\r\ncontent-length: 0\r\n\r\n";
                  out({ type: "proxy_data", conn: 1, b64: Buffer.from(req).toString("base64") });
                  out({ type: "proxy_open", conn: 2 });
                  for (let i = 0; i < 12; i++) out({ type: "proxy_data", conn: 2, b64: big });
                  out({ type: "proxy_end", conn: 2 });
                }
                if (frame.type === "proxy_data" && frame.conn === 1) {
                  const text = Buffer.from(frame.b64, "base64").toString();
                  if (text.includes("model says hi")) {
                    out({ type: "result", status: "success", result: "done", consumed: ["i0"] });
                    setTimeout(() => io.exit(0), 20);
                  }
                }
              }
            },
          }
        : undefined,
  );
  const runner = createDockerRunner({
    config: v.parse(Config, { container: { transport: "stdio", maxOutputBytes: 256 * 1024 } }),
    log: silentLogger(),
    paths: { groupsDir: join(root, "groups"), dataDir: join(root, "data") },
    proxy: { socketPath, issue: () => "tok-1", revoke: () => {} },
    instanceId: "inst",
    spawn,
    env: {},
  });
  const results: string[] = [];
  const proc = await runner.start({
    group,
    input: {
      prompt: "hi",
      inputId: "i0",
      groupFolder: "fam",
      chatJid: "web:fam",
      isMain: false,
      assistantName: "Andy",
    },
    onResult: async (f) => void results.push(f.result ?? ""),
    onRequest: async () => ({ ok: true, text: "" }),
  });
  const result = await proc.done;
  expect(result.status).toBe("success");
  expect(results).toEqual(["done"]);
  expect(seen[0]).toBe("POST /v1/messages tok-1");
  // The bridge answered on conn 1 (kept alive, as HTTP/1.1 does) and acknowledged conn 2's bytes.
  expect(toAgent.some((f) => f.type === "proxy_data" && f.conn === 1)).toBe(true);
  expect(toAgent.some((f) => f.type === "proxy_ack" && f.conn === 2)).toBe(true);
  const agentRun = calls.find((c) => c.cmd.includes("NGB_PROXY_TRANSPORT=stdio"))!.cmd;
  expect(agentRun[agentRun.indexOf("--name") + 1]).toStartWith("ngb-fam-");
  expect(agentRun.join(" ")).not.toContain(root);
});
