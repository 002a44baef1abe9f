import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryChannel, type MemoryChannel } from "../../test/fakes/memory-channel.ts";
import { until } from "../../test/support/wait.ts";
import { createEventBus, type EventBus } from "../events/index.ts";
import { silentLogger } from "../log/index.ts";
import { createDelivery, registerGroup } from "../orchestrator/index.ts";
import { createTaskService } from "../scheduler/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { createIpcWatcher, type IpcWatcher } from "./index.ts";

let dir: string;
let store: Store;
let events: EventBus;
let channel: MemoryChannel;
let watcher: IpcWatcher;
let rejected: { groupFolder: string; file: string; reason: string }[];
let n = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-ipc-"));
  store = openStore(join(dir, "ngb.db"));
  events = createEventBus();
  channel = createMemoryChannel();
  rejected = [];
  events.on("ipc.rejected", (e) => rejected.push(e));
  const base = { triggerPattern: null, requiresTrigger: true, containerConfig: null };
  store.groups.add({
    ...base,
    jid: "mem:main",
    name: "Main",
    folder: "main",
    isMain: true,
    requiresTrigger: false,
  });
  store.groups.add({ ...base, jid: "mem:g1", name: "G1", folder: "g1", isMain: false });
  store.groups.add({ ...base, jid: "mem:g2", name: "G2", folder: "g2", isMain: false });
  const log = silentLogger();
  const deliver = createDelivery({
    store,
    events,
    channels: () => [channel],
    assistantName: "Andy",
    log,
    retryDelaysMs: [1, 1],
  });
  const tasks = createTaskService({ store, events, defaultTimezone: "UTC" });
  const deps = { store, events, groupsDir: join(dir, "groups"), dataDir: join(dir, "data") };
  watcher = createIpcWatcher({
    dataDir: join(dir, "data"),
    pollMs: 60_000,
    store,
    events,
    log,
    deliver,
    tasks,
    registerGroup: (g) => registerGroup(deps, { ...g, isMain: false }),
  });
  return channel.connect({ inbound: async () => true, discovered() {}, status() {} });
});

afterEach(() => {
  watcher.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Write an IPC file the way the agent does (tmp + rename). */
function put(folder: string, payload: unknown, sub: "messages" | "tasks" = "messages"): string {
  const d = join(dir, "data", "ipc", folder, sub);
  mkdirSync(d, { recursive: true });
  const name = `${Date.now()}-${++n}.json`;
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  writeFileSync(join(d, `${name}.tmp`), body);
  renameSync(join(d, `${name}.tmp`), join(d, name));
  return name;
}

const errorsDir = () => join(dir, "data", "ipc", "errors");
const task = (extra: Record<string, unknown> = {}) => ({
  type: "schedule_task",
  prompt: "report",
  scheduleType: "interval",
  scheduleValue: "1h",
  ...extra,
});

describe("ipc authorization matrix", () => {
  const messageCases: [string, string, boolean][] = [
    ["main", "mem:main", true],
    ["main", "mem:g1", true],
    ["main", "mem:unregistered", true],
    ["g1", "mem:g1", true],
    ["g1", "mem:g2", false],
    ["g1", "mem:main", false],
    ["g2", "mem:g1", false],
  ];
  for (const [from, to, allowed] of messageCases) {
    test(`message: ${from} → ${to} is ${allowed ? "allowed" : "refused"}`, async () => {
      const file = put(from, { type: "message", chatJid: to, text: "hello" });
      await watcher.scan();
      expect(channel.sent).toEqual(allowed ? [{ jid: to, text: "hello" }] : []);
      expect(rejected.length).toBe(allowed ? 0 : 1);
      if (!allowed) {
        expect(rejected[0]!.reason).toContain("may only message its own chat");
        expect(existsSync(join(errorsDir(), `${from}-${file}`))).toBe(true);
      }
      expect(readdirSync(join(dir, "data", "ipc", from, "messages"))).toEqual([]);
    });
  }

  test("identity comes from the directory, not the payload", async () => {
    put("g1", { type: "message", chatJid: "mem:main", text: "x", groupFolder: "main", isMain: true });
    put("g1", { type: "register_group", jid: "mem:new", name: "N", folder: "new", isMain: true }, "tasks");
    await watcher.scan();
    expect(channel.sent).toEqual([]);
    expect(rejected).toHaveLength(2);
    expect(store.groups.get("mem:new")).toBeNull();
  });

  test("schedule_task: own group allowed; a non-main target elsewhere refused; main may target any chat", async () => {
    put("g1", task(), "tasks");
    put("g1", task({ targetJid: "mem:g2" }), "tasks");
    put("main", task({ targetJid: "mem:g1" }), "tasks");
    await watcher.scan();
    const tasks = store.tasks.list();
    expect(tasks.map((t) => [t.groupFolder, t.chatJid, t.createdBy]).sort()).toEqual([
      ["g1", "mem:g1", "group:g1"],
      ["main", "mem:g1", "group:main"],
    ]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toContain("own chat");
  });

  test("pause/resume/cancel: own tasks only; main manages any", async () => {
    const svc = createTaskService({ store, defaultTimezone: "UTC" });
    const t2 = svc.create(
      { groupFolder: "g2", prompt: "p", scheduleType: "interval", scheduleValue: "1h" },
      { kind: "cli" },
    );
    const t1 = svc.create(
      { groupFolder: "g1", prompt: "p", scheduleType: "interval", scheduleValue: "1h" },
      { kind: "cli" },
    );
    put("g1", { type: "pause_task", taskId: t2.id }, "tasks");
    put("g1", { type: "pause_task", taskId: t1.id }, "tasks");
    await watcher.scan();
    expect(store.tasks.get(t2.id)!.status).toBe("active");
    expect(store.tasks.get(t1.id)!.status).toBe("paused");
    expect(rejected.map((r) => r.groupFolder)).toEqual(["g1"]);
    put("g1", { type: "resume_task", taskId: t1.id }, "tasks");
    put("main", { type: "cancel_task", taskId: t2.id }, "tasks");
    put("g2", { type: "cancel_task", taskId: t1.id }, "tasks");
    await watcher.scan();
    expect(store.tasks.get(t1.id)!.status).toBe("active");
    expect(store.tasks.get(t2.id)!.status).toBe("cancelled");
    expect(rejected).toHaveLength(2);
  });

  test("register_group: main only; creates the group, its folder and the event", async () => {
    const registered: string[] = [];
    events.on("group.registered", (e) => registered.push(e.folder));
    put("g1", { type: "register_group", jid: "mem:x", name: "X", folder: "x" }, "tasks");
    put(
      "main",
      { type: "register_group", jid: "mem:team", name: "Team", folder: "team", trigger: "^!t" },
      "tasks",
    );
    put("main", { type: "register_group", jid: "mem:team2", name: "T", folder: "team" }, "tasks");
    await watcher.scan();
    expect(store.groups.get("mem:team")).toMatchObject({
      folder: "team",
      triggerPattern: "^!t",
      isMain: false,
    });
    expect(store.groups.get("mem:x")).toBeNull();
    expect(existsSync(join(dir, "groups", "team", "CLAUDE.md"))).toBe(true);
    expect(registered).toEqual(["team"]);
    expect(rejected.map((r) => r.reason)).toEqual([
      expect.stringContaining("not the main group"),
      expect.stringContaining('folder "team" is already registered'),
    ]);
  });
});

describe("ipc bad input", () => {
  test("malformed, invalid and unknown-group files are moved aside and the rest still run", async () => {
    const bad1 = put("g1", "{not json");
    const bad2 = put("g1", { type: "message", chatJid: "mem:g1" });
    const bad3 = put("g1", { type: "launch_missiles" });
    const bad4 = put("ghost", { type: "message", chatJid: "mem:g1", text: "hi" });
    const bad5 = put("g1", task({ scheduleType: "cron", scheduleValue: "not a cron" }), "tasks");
    put("g1", { type: "message", chatJid: "mem:g1", text: "still works" });
    await watcher.scan();
    expect(channel.sent).toEqual([{ jid: "mem:g1", text: "still works" }]);
    const moved = readdirSync(errorsDir()).sort();
    expect(moved).toEqual([`ghost-${bad4}`, `g1-${bad1}`, `g1-${bad2}`, `g1-${bad3}`, `g1-${bad5}`].sort());
    const reasons = rejected.map((r) => r.reason).join("\n");
    expect(reasons).toContain("not valid JSON");
    expect(reasons).toContain("text");
    expect(reasons).toContain('no registered group has folder "ghost"');
    expect(reasons).toMatch(/cron/i);
  });

  test("symlinks and oversized files are refused without being read", async () => {
    const d = join(dir, "data", "ipc", "g1", "messages");
    mkdirSync(d, { recursive: true });
    const secret = join(dir, "secret.json");
    writeFileSync(secret, JSON.stringify({ type: "message", chatJid: "mem:g1", text: "from a symlink" }));
    symlinkSync(secret, join(d, "link.json"));
    writeFileSync(
      join(d, "big.json"),
      JSON.stringify({ type: "message", chatJid: "mem:g1", text: "x".repeat(2_000_000) }),
    );
    await watcher.scan();
    expect(channel.sent).toEqual([]);
    expect(rejected.map((r) => r.reason).sort()).toEqual([
      expect.stringContaining("over the 1048576-byte limit"),
      expect.stringContaining("not a regular file"),
    ]);
    expect(existsSync(secret)).toBe(true);
  });

  test("a request directory swapped for a symlink is not followed", async () => {
    const elsewhere = join(dir, "elsewhere");
    mkdirSync(elsewhere);
    const victim = join(elsewhere, "victim.json");
    writeFileSync(victim, "not json, must stay put");
    writeFileSync(
      join(elsewhere, "ok.json"),
      JSON.stringify({ type: "message", chatJid: "mem:g1", text: "no" }),
    );
    mkdirSync(join(dir, "data", "ipc", "g1"), { recursive: true });
    symlinkSync(elsewhere, join(dir, "data", "ipc", "g1", "messages"));
    await watcher.scan();
    expect(existsSync(victim)).toBe(true);
    expect(channel.sent).toEqual([]);
    expect(rejected).toEqual([]);
  });

  test("a message to a chat no channel owns is refused; temp files are ignored", async () => {
    put("main", { type: "message", chatJid: "tg:1", text: "x" });
    const d = join(dir, "data", "ipc", "main", "messages");
    writeFileSync(join(d, "partial.json.tmp"), "{");
    await watcher.scan();
    expect(rejected[0]!.reason).toContain('no connected channel owns chat "tg:1"');
    expect(readdirSync(d)).toEqual(["partial.json.tmp"]);
  });

  test("a send that keeps failing is retried on the next scan, then delivered once", async () => {
    channel.failNext = 3; // the first try and both quick re-sends
    const file = put("g1", { type: "message", chatJid: "mem:g1", text: "retry me" });
    await watcher.scan();
    expect(existsSync(join(dir, "data", "ipc", "g1", "messages", file))).toBe(true);
    await watcher.scan();
    await watcher.scan();
    expect(channel.sent).toEqual([{ jid: "mem:g1", text: "retry me" }]);
    expect(rejected).toEqual([]);
  });

  test("event-driven: a file written after start is handled without waiting for the re-scan", async () => {
    mkdirSync(join(dir, "data", "ipc", "g1", "messages"), { recursive: true });
    watcher.start();
    await until(() => existsSync(errorsDir()));
    await Bun.sleep(20);
    put("g1", { type: "message", chatJid: "mem:g1", text: "watched" });
    await channel.waitForSent(1, 3000);
    // A new group's directory appearing later is watched too.
    put("g2", { type: "message", chatJid: "mem:g2", text: "new dir" });
    await channel.waitForSent(2, 3000);
    expect(channel.sent.map((s) => s.text)).toEqual(["watched", "new dir"]);
  });
});
