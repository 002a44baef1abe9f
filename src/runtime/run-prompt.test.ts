import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { createFakeRunner, type FakeRunner } from "../../test/fakes/agent-runner.ts";
import { Config } from "../config/schema.ts";
import { createEventBus } from "../events/index.ts";
import { silentLogger } from "../log/index.ts";
import { createTaskService } from "../scheduler/index.ts";
import { openStore, type RegisteredGroup, type Store } from "../store/index.ts";
import { runPrompt } from "./run-prompt.ts";

let dir: string;
let config: Config;
let store: Store;
let runner: FakeRunner;
let group: RegisteredGroup;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-run-prompt-"));
  config = v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
    web: { host: "127.0.0.1", port: 0, token: "t".repeat(32) },
  });
  store = openStore(join(dir, "store", "ngb.db"));
  group = store.groups.add({
    jid: "tg:1",
    name: "Team",
    folder: "team",
    triggerPattern: null,
    requiresTrigger: false,
    isMain: false,
    containerConfig: null,
  });
  runner = createFakeRunner({
    respond: (t) => [{ status: "success", result: `answer to ${t.text}`, newSessionId: "sess-new" }],
  });
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (extra: Partial<Parameters<typeof runPrompt>[0]> = {}) =>
  runPrompt({ config, store, log: silentLogger(), group, prompt: "hello", runner, ...extra });

test("one prompt: the result comes back, the container is let go, the session untouched", async () => {
  store.groups.setSession("team", "sess-old");
  expect(await run()).toEqual({ status: "success", results: ["answer to hello"] });
  expect(runner.starts).toHaveLength(1);
  expect(runner.starts[0]!.input.sessionId).toBeUndefined();
  expect(runner.alive()).toHaveLength(0);
  expect(store.groups.session("team")).toBe("sess-old");
});

test("--resume continues the group's session and saves the new one", async () => {
  store.groups.setSession("team", "sess-old");
  await run({ resume: true });
  expect(runner.starts[0]!.input.sessionId).toBe("sess-old");
  expect(store.groups.session("team")).toBe("sess-new");
});

test("the agent's list_tasks is answered by the same task service serve uses", async () => {
  const tasks = createTaskService({ store, events: createEventBus(), defaultTimezone: "UTC" });
  tasks.create(
    { groupFolder: "team", prompt: "daily", scheduleType: "cron", scheduleValue: "0 9 * * *" },
    { kind: "cli" },
  );
  const answers: string[] = [];
  runner.setRespond(() => [
    { request: { type: "list_tasks" }, onReply: (r) => answers.push(r.text) },
    { status: "success", result: "listed" },
  ]);
  expect(await run()).toEqual({ status: "success", results: ["listed"] });
  expect(JSON.parse(answers[0]!)).toEqual(JSON.parse(JSON.stringify(tasks.listForAgent("team", false))));
});

test("pending chat messages are left for serve: no message run without a channel", async () => {
  store.messages.insert({
    id: "m1",
    chatJid: "tg:1",
    sender: "u",
    senderName: "U",
    content: "waiting for an answer",
    timestamp: Date.now(),
  });
  await run();
  expect(runner.starts.map((s) => s.input.prompt)).toEqual(["hello"]);
  expect(store.groups.cursor("tg:1")).toBe(0);
});

test("a timeout stops the run and says so", async () => {
  runner.setRespond(() => new Promise(() => {}));
  const out = await run({ timeoutMs: 50 });
  expect(out.status).toBe("error");
  expect(out.error).toBe("timeout reached");
  expect(runner.alive()).toHaveLength(0);
});
