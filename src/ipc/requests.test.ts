import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventBus, type EventBus } from "../events/index.ts";
import { createGroupService } from "../groups/index.ts";
import { silentLogger } from "../log/index.ts";
import type { DeliverRequest, HandleRequest } from "../orchestrator/index.ts";
import type { IpcRequest, RequestFrame } from "../protocol/index.ts";
import { createTaskService } from "../scheduler/index.ts";
import { openStore, type RegisteredGroup, type Store } from "../store/index.ts";
import { createIpcHandler } from "./requests.ts";

let dir: string;
let store: Store;
let events: EventBus;
let handle: HandleRequest;
let sent: DeliverRequest[];
let rejected: string[];
let now: number;
let main: RegisteredGroup;
let team: RegisteredGroup;

const frame = (request: IpcRequest): RequestFrame => ({ type: "request", reqId: "r1", request });
const ask = (g: RegisteredGroup, request: IpcRequest, idemKey = "k") =>
  handle(g, frame(request), { idemKey });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-ipc-"));
  store = openStore(join(dir, "ngb.db"));
  events = createEventBus();
  sent = [];
  rejected = [];
  now = Date.parse("2026-06-01T10:00:00Z");
  events.on("ipc.rejected", (e) => rejected.push(e.reason));
  const groups = createGroupService({ store, events, paths: { groupsDir: join(dir, "groups") } });
  main = groups.register({ jid: "web:default", folder: "main", isMain: true });
  team = groups.register({ jid: "tg:1", folder: "team" });
  groups.register({ jid: "tg:2", folder: "other" });
  const tasks = createTaskService({ store, events, defaultTimezone: "UTC" });
  handle = createIpcHandler({
    store,
    events,
    log: silentLogger(),
    deliver: async (req) => {
      sent.push(req);
      return { status: "sent", seq: 1 };
    },
    tasks,
    registerGroup: (g) => groups.register({ ...g, isMain: false }),
    limits: { requestsPerMinute: 20, messagesPerMinute: 3 },
    now: () => now,
  });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("IPC requests: the authorization matrix", () => {
  test("a non-main group may message only its own chat; main may message any", async () => {
    expect(await ask(team, { type: "message", chatJid: "tg:1", text: "hi" }, "ipc:team:1")).toEqual({
      ok: true,
      text: "Message to tg:1 sent.",
    });
    const refused = await ask(team, { type: "message", chatJid: "tg:2", text: "hi" });
    expect(refused.ok).toBe(false);
    expect(refused.text).toContain('group "team" may only message its own chat (tg:1), not tg:2');
    expect((await ask(main, { type: "message", chatJid: "tg:2", text: "from main" })).ok).toBe(true);
    expect(sent.map((s) => [s.chatJid, s.idemKey, s.source])).toEqual([
      ["tg:1", "ipc:team:1", "ipc"],
      ["tg:2", "k", "ipc"],
    ]);
    expect(rejected).toHaveLength(1);
  });

  test("tasks: a group manages its own; results only to its own chat; main manages any", async () => {
    const mine = await ask(team, {
      type: "schedule_task",
      prompt: "daily",
      scheduleType: "cron",
      scheduleValue: "0 9 * * *",
    });
    expect(mine.ok).toBe(true);
    const id = /Task (\S+) scheduled/.exec(mine.text)![1]!;
    const elsewhere = await ask(team, {
      type: "schedule_task",
      prompt: "x",
      scheduleType: "cron",
      scheduleValue: "0 9 * * *",
      targetJid: "tg:2",
    });
    expect(elsewhere).toMatchObject({ ok: false });
    expect(elsewhere.text).toContain("may only send task results to its own chat");
    const other = await ask(main, {
      type: "schedule_task",
      prompt: "o",
      scheduleType: "cron",
      scheduleValue: "0 8 * * *",
      targetJid: "tg:2",
    });
    const otherId = /Task (\S+) scheduled/.exec(other.text)![1]!;
    // The other group's task belongs to main's folder here; team may not touch it.
    expect((await ask(team, { type: "pause_task", taskId: otherId })).ok).toBe(false);
    expect((await ask(team, { type: "pause_task", taskId: id })).ok).toBe(true);
    expect((await ask(main, { type: "cancel_task", taskId: id })).ok).toBe(true);
    const list = JSON.parse((await ask(team, { type: "list_tasks" })).text);
    expect(JSON.stringify(list)).not.toContain(otherId);
  });

  test("only main may register or list groups; reserved folders and unsafe triggers are refused", async () => {
    const reg = { type: "register_group", jid: "tg:9", name: "New", folder: "newgroup" } as const;
    expect((await ask(team, reg)).text).toContain("is not the main group and may not register groups");
    expect((await ask(team, { type: "list_groups" })).ok).toBe(false);
    expect(await ask(main, reg)).toEqual({ ok: true, text: "Group tg:9 registered as newgroup." });
    expect((await ask(main, { ...reg, jid: "tg:10", folder: "global" })).text).toContain("reserved");
    const evil = await ask(main, { ...reg, jid: "tg:11", folder: "evil", trigger: "^(a+)+$" });
    expect(evil.ok).toBe(false);
    expect(evil.text).toContain("trigger refused");
    const groups = JSON.parse((await ask(main, { type: "list_groups" })).text);
    expect(groups.groups.map((g: { folder: string }) => g.folder).sort()).toEqual([
      "main",
      "newgroup",
      "other",
      "team",
    ]);
  });

  test("rates: messages and requests per group per minute; another group is not affected", async () => {
    for (let i = 0; i < 3; i++)
      expect((await ask(team, { type: "message", chatJid: "tg:1", text: `m${i}` })).ok).toBe(true);
    const fourth = await ask(team, { type: "message", chatJid: "tg:1", text: "m3" });
    expect(fourth).toMatchObject({ ok: false });
    expect(fourth.text).toContain("too many messages");
    expect((await ask(main, { type: "message", chatJid: "tg:1", text: "main is fine" })).ok).toBe(true);
    for (let i = 0; i < 20; i++) await ask(team, { type: "list_tasks" });
    expect((await ask(team, { type: "list_tasks" })).text).toContain("too many requests");
    now += 61_000;
    expect((await ask(team, { type: "list_tasks" })).ok).toBe(true);
  });
});
