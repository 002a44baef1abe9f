import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentRunnerLog } from "./io.ts";
import { createNgbHandlers, createNgbMcpServer } from "./mcp-tools.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-mcp-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const paths = () => ({
  ipcMessages: join(dir, "messages"),
  ipcTasks: join(dir, "tasks"),
  tasksSnapshot: join(dir, "current_tasks.json"),
});
const handlers = (isMain: boolean) =>
  createNgbHandlers({
    input: { chatJid: "tg:100", groupFolder: isMain ? "main" : "family", isMain },
    paths: paths(),
    log: silentRunnerLog,
  });
const files = (sub: string) =>
  readdirSync(join(dir, sub))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(dir, sub, n), "utf8")));

describe("ngb tools", () => {
  test("send_message defaults to the own chat and may name another", () => {
    const h = handlers(false);
    expect(h.sendMessage({ text: "hi" }).isError).toBeUndefined();
    expect(h.sendMessage({ text: "psst", chatJid: "tg:200" }).content[0]?.text).toContain("tg:200");
    expect(files("messages")).toEqual([
      { type: "message", chatJid: "tg:100", text: "hi" },
      { type: "message", chatJid: "tg:200", text: "psst" },
    ]);
  });

  test("schedule_task maps the tool's snake_case to the protocol; a bad request is an error result", () => {
    const h = handlers(false);
    const r = h.scheduleTask({
      prompt: "water plants",
      schedule_type: "interval",
      schedule_value: "3600000",
      catch_up: "skip",
    });
    expect(r.isError).toBeUndefined();
    expect(files("tasks")).toEqual([
      {
        type: "schedule_task",
        prompt: "water plants",
        scheduleType: "interval",
        scheduleValue: "3600000",
        catchUp: "skip",
      },
    ]);
    const bad = h.scheduleTask({ prompt: "", schedule_type: "once", schedule_value: "x" });
    expect(bad.isError).toBe(true);
    expect(bad.content[0]?.text).toMatch(/^Not sent: invalid request \(prompt\)/);
    expect(files("tasks")).toHaveLength(1);
  });

  test("pause/resume/cancel write their requests", () => {
    const h = handlers(false);
    h.taskAction("pause_task", "t1");
    h.taskAction("resume_task", "t1");
    h.taskAction("cancel_task", "t2");
    expect(files("tasks").map((f) => `${f.type}:${f.taskId}`)).toEqual([
      "pause_task:t1",
      "resume_task:t1",
      "cancel_task:t2",
    ]);
  });

  test("register_group is for the main group only", () => {
    expect(handlers(false).registerGroup({ jid: "tg:5", name: "Book club", folder: "books" }).isError).toBe(
      true,
    );
    const ok = handlers(true).registerGroup({
      jid: "tg:5",
      name: "Book club",
      folder: "books",
      requires_trigger: true,
    });
    expect(ok.isError).toBeUndefined();
    expect(files("tasks")).toEqual([
      { type: "register_group", jid: "tg:5", name: "Book club", folder: "books", requiresTrigger: true },
    ]);
  });

  test("list_tasks reads the host's snapshot, own group only unless main", () => {
    expect(handlers(false).listTasks().content[0]?.text).toBe("No scheduled tasks.");
    writeFileSync(
      paths().tasksSnapshot,
      JSON.stringify([
        {
          id: "t1",
          groupFolder: "family",
          prompt: "water plants",
          scheduleType: "cron",
          scheduleValue: "0 8 * * *",
          status: "active",
        },
        {
          id: "t2",
          groupFolder: "work",
          prompt: "standup",
          scheduleType: "once",
          scheduleValue: "2030-01-01T09:00:00Z",
          status: "paused",
        },
      ]),
    );
    const own = handlers(false).listTasks().content[0]?.text ?? "";
    expect(own).toContain("[t1]");
    expect(own).toContain("cron 0 8 * * *");
    expect(own).not.toContain("t2");
    const all = handlers(true).listTasks().content[0]?.text ?? "";
    expect(all).toContain("[t2] (paused)");
    writeFileSync(paths().tasksSnapshot, "{oops");
    expect(handlers(true).listTasks().isError).toBe(true);
  });

  test("the MCP server offers register_group only to main", () => {
    const names = (isMain: boolean) => {
      const server = createNgbMcpServer({
        input: { chatJid: "c", groupFolder: "g", isMain },
        paths: paths(),
        log: silentRunnerLog,
      });
      expect(server.type).toBe("sdk");
      expect(server.name).toBe("ngb");
      // biome-ignore lint/suspicious/noExplicitAny: reading the MCP server's registered tools
      return Object.keys((server.instance as any)._registeredTools ?? {}).sort();
    };
    expect(names(false)).toEqual([
      "cancel_task",
      "list_tasks",
      "pause_task",
      "resume_task",
      "schedule_task",
      "send_message",
    ]);
    expect(names(true)).toContain("register_group");
  });
});
