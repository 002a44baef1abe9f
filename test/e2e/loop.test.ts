/**
 * THE end-to-end test of the loop, for real: `ngb serve` (compiled binary when fresh), the real
 * docker engine and `ngb-agent` image running the real Claude Agent SDK, whose model calls go
 * through the credential proxy to the fake Anthropic API. A message through the webchat gets
 * the plain reply, a `mcp__ngb__send_message` tool message, and a `schedule_task` that creates
 * a task in the store. Skipped (saying why) without an engine or the image.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/index.ts";
import { type FakeAnthropic, scripts, startFakeAnthropic } from "../fakes/anthropic.ts";
import { agentImageAvailable } from "../support/engine.ts";
import type { ServeHandle } from "../support/ngb.ts";
import { until } from "../support/wait.ts";
import { chooseBinary, openWebChat, serveEnv, startServe, type WebChat } from "./serve-rig.ts";

const READY = await agentImageAvailable();
const binary = chooseBinary();
if (READY) process.stderr.write(`[e2e loop] ngb: ${binary}\n`);

describe.skipIf(!READY)("the loop end to end (docker + ngb-agent + fake model)", () => {
  let dir: string;
  let fake: FakeAnthropic;
  let serve: ServeHandle;
  let chat: WebChat;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ngb-e2e-loop-"));
    fake = startFakeAnthropic({
      script: scripts.byPrompt(
        [
          { when: "plain question", script: scripts.text("the plain answer") },
          { when: "use the tool", script: scripts.sendMessageThenText("sent by a tool", "tool turn done") },
          {
            when: "schedule it",
            script: scripts.scheduleTaskThenText(
              { prompt: "daily summary", schedule_type: "cron", schedule_value: "0 9 * * *" },
              "task scheduled",
            ),
          },
        ],
        scripts.text("fallback"),
      ),
    });
    serve = await startServe({ cwd: dir, env: serveEnv(dir, fake), timeoutMs: 30_000 });
    chat = await openWebChat(serve);
  }, 60_000);

  afterAll(async () => {
    chat?.close();
    const code = await serve?.stop();
    if (code !== 0) process.stderr.write(`serve exited ${code}; log tail:\n${serve?.logs().slice(-3000)}\n`);
    await fake?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a webchat message gets the agent's plain reply", async () => {
    const res = await chat.post("plain question");
    expect(res.status).toBe(201);
    const reply = await chat.reply("the plain answer").catch((err) => {
      throw new Error(`${err.message}\nserve log tail:\n${serve.logs().slice(-4000)}`);
    });
    expect(reply.seq).toBeGreaterThan(0);
    // The request reached the model through the proxy with the real key, not the container's token.
    const req = fake.requests.at(-1)!;
    expect(req.headers["x-api-key"] ?? "").toBe("sk-ant-dummy-e2e");
    expect(JSON.stringify(req.body.messages)).toContain("plain question");
    expect(chat.events.some((e) => e.type === "typing" && e.on === true)).toBe(true);
  }, 120_000);

  test("mcp__ngb__send_message arrives as its own message, then the turn's reply", async () => {
    await chat.post("use the tool");
    await chat.reply("sent by a tool");
    await chat.reply("tool turn done");
    const texts = (await chat.history()).filter((m) => m.from === "assistant").map((m) => m.text);
    expect(texts).toContain("sent by a tool");
    expect(texts.filter((t) => t === "tool turn done")).toHaveLength(1);
  }, 120_000);

  test("schedule_task creates a task for the group", async () => {
    await chat.post("schedule it");
    await chat.reply("task scheduled");
    const store = openStore(join(dir, "store", "ngb.db"), { readonly: true });
    try {
      const task = await until(() => store.tasks.list().find((t) => t.prompt === "daily summary"), {
        what: "the scheduled task in the store",
        timeoutMs: 10_000,
      });
      expect(task).toMatchObject({
        groupFolder: "main",
        chatJid: "web:default",
        scheduleType: "cron",
        scheduleValue: "0 9 * * *",
        status: "active",
        createdBy: "group:main",
      });
    } finally {
      store.close();
    }
  }, 120_000);
});
