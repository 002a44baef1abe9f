/**
 * The loop's CLI commands as a user runs them (`ngb chat|send|session|logs|shell|run` as child
 * processes) against a host started in-process with a fake AgentRunner.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { Config } from "../src/config/index.ts";
import { silentLogger } from "../src/log/index.ts";
import { type Runtime, startRuntime } from "../src/runtime/index.ts";
import { createFakeRunner } from "./fakes/agent-runner.ts";
import { isolatedEnv, runNgb } from "./support/ngb.ts";

const TOKEN = "cli-token-0123456789abcdef";
let dir: string;
let runtime: Runtime;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ngb-cli-loop-"));
  const config = v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
    web: { port: 0, token: TOKEN },
  });
  runtime = await startRuntime({
    config,
    log: silentLogger(),
    runner: createFakeRunner({
      respond: (t) => [
        {
          status: "success",
          result: `answer to ${t.text.includes("hello cli") ? "hello cli" : "?"}`,
          newSessionId: "sess-cli",
        },
      ],
    }),
  });
  env = isolatedEnv(dir, { NGB_WEB_PORT: String(runtime.port), NGB_WEB_TOKEN: TOKEN, NGB_LOG_LEVEL: "warn" });
});

afterAll(async () => {
  await runtime.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ngb = (args: string[], extra: Record<string, string> = {}) =>
  runNgb(args, { cwd: dir, env: { ...env, ...extra }, timeoutMs: 30_000 });

describe("loop CLI", () => {
  test("ngb chat prints the reply and exits 0", async () => {
    const r = await ngb(["chat", "hello cli", "--timeout", "20"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("answer to hello cli\n");
    expect(r.code).toBe(0);
  });

  test("ngb chat: unregistered chat, serve not running, bad flags", async () => {
    const r1 = await ngb(["chat", "--chat", "nobody", "hi"]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain("web:nobody is not a registered group");
    const r2 = await ngb(["chat", "hi"], { NGB_WEB_PORT: "1" });
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("cannot reach ngb serve at http://127.0.0.1:1");
    const r3 = await ngb(["chat", "hi", "--timeout", "soon"]);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toContain("--timeout must be a positive number");
  });

  test("ngb send: delivered through the owning channel; unknown jid is an error", async () => {
    const ok = await ngb(["send", "web:default", "hi from cli"]);
    expect(ok.stdout).toBe("sent to web:default\n");
    const res = await fetch(`${runtime.url}/api/webchat/messages?after=0`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const { messages } = (await res.json()) as { messages: { text: string; from: string }[] };
    expect(messages).toContainEqual(expect.objectContaining({ text: "hi from cli", from: "assistant" }));
    const bad = await ngb(["send", "tg:42", "x"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('no connected channel owns chat "tg:42"');
  });

  test("ngb session show / reset", async () => {
    const show = await ngb(["session", "show", "main"]);
    expect(show.stdout).toContain("main: sess-cli");
    const reset = await ngb(["session", "reset", "web:default"]);
    expect(reset.stdout).toBe("main: session sess-cli forgotten\n");
    expect((await ngb(["session", "show", "main"])).stdout).toContain("no session");
    const missing = await ngb(["session", "show", "ghost"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no registered group "ghost"');
  });

  test("ngb logs prints the newest run's log; unknown group is an error", async () => {
    const logs = join(dir, "data", "logs", "main");
    mkdirSync(logs, { recursive: true });
    writeFileSync(join(logs, "container-2026-01-01T00-00-00-000Z.log"), "old run\n");
    writeFileSync(join(logs, "container-2026-01-02T00-00-00-000Z.log"), "new run\n");
    utimesSync(join(logs, "container-2026-01-01T00-00-00-000Z.log"), 1_000, 1_000);
    expect((await ngb(["logs", "main"])).stdout).toBe("new run\n");
    expect((await ngb(["logs", "main", "--all"])).stdout).toContain("old run\n");
    const bad = await ngb(["logs", "nope"]);
    expect(bad.code).toBe(1);
  });

  test("ngb shell --print: the agent image with the group's mounts and sh", async () => {
    const r = await ngb(["shell", "main", "--print"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--entrypoint sh");
    expect(r.stdout).toContain(`source=${join(dir, "groups", "main")},target=/workspace/group`);
    expect(r.stdout.trim().endsWith("ngb-agent:latest")).toBe(true);
  });

  test("ngb shell --print includes the group's allowlisted extra mounts, not refused ones", async () => {
    const allowed = join(dir, "projects", "notes");
    mkdirSync(allowed, { recursive: true });
    mkdirSync(join(dir, ".xdg", "nanogridbot"), { recursive: true });
    writeFileSync(
      join(dir, ".xdg", "nanogridbot", "mount-allowlist.json"),
      JSON.stringify({ allowedRoots: [{ path: join(dir, "projects"), allowReadWrite: false }] }),
    );
    const patch = await fetch(`${runtime.url}/api/groups/main`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        containerConfig: { additionalMounts: [{ hostPath: allowed }, { hostPath: join(dir, "data") }] },
      }),
    });
    expect(patch.status).toBe(200);
    const r = await ngb(["shell", "main", "--print"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`source=${allowed},target=/workspace/extra/notes`);
    expect(r.stdout).not.toContain(`source=${join(dir, "data")},target=/workspace/extra`);
  });

  test("ngb run goes through the running serve: results printed, nothing sent to the chat", async () => {
    const before = await fetch(`${runtime.url}/api/webchat/messages?after=0`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    }).then((r) => r.json() as Promise<{ messages: unknown[] }>);
    const r = await ngb(["run", "main", "hello cli"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("answer to hello cli\n");
    expect(r.code).toBe(0);
    const after = await fetch(`${runtime.url}/api/webchat/messages?after=0`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    }).then((r) => r.json() as Promise<{ messages: unknown[] }>);
    expect(after.messages).toHaveLength(before.messages.length);
    const json = await ngb(["run", "web:default", "hello cli", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({
      group: "main",
      status: "success",
      results: ["answer to hello cli"],
    });
    const bad = await fetch(`${runtime.url}/api/run`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ group: "main", prompt: "   " }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain("prompt must not be empty");
    const missing = await ngb(["run", "ghost", "hi"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no registered group "ghost"');
  });
});
