import { describe, expect, test } from "bun:test";
import type { IpcRequest, RequestFrame } from "../../../src/protocol/index.ts";
import { createHostLink } from "./host-link.ts";
import { silentRunnerLog } from "./io.ts";
import { createNgbHandlers, createNgbMcpServer } from "./mcp-tools.ts";

/**
 * The tools over a real host link whose frames reach a stand-in host: it records each request
 * and answers with `answer(request)` (or never, when that returns undefined).
 */
function setup(isMain: boolean, answer: (r: IpcRequest) => { ok: boolean; text: string } | undefined) {
  const seen: RequestFrame[] = [];
  let turn: string[] | undefined = ["m1"];
  const link = createHostLink({
    log: silentRunnerLog,
    timeoutMs: 50,
    write(frame) {
      if (frame.type !== "request") return;
      seen.push(frame);
      const a = answer(frame.request);
      if (a) queueMicrotask(() => link.reply({ type: "reply", reqId: frame.reqId, ...a }));
    },
  });
  const h = createNgbHandlers({
    input: { chatJid: "tg:100", isMain },
    link,
    turn: () => turn,
    log: silentRunnerLog,
  });
  return {
    h,
    seen,
    link,
    setTurn(t: string[] | undefined) {
      turn = t;
    },
  };
}

const text = (r: { content: { text: string }[] }) => r.content[0]?.text;

describe("ngb tools", () => {
  test("send_message defaults to the own chat, carries the turn, and returns the host's text", async () => {
    const { h, seen, setTurn } = setup(false, (r) => ({
      ok: true,
      text: `Queued for ${(r as { chatJid: string }).chatJid}.`,
    }));
    const r = await h.sendMessage({ text: "hi" });
    expect(r).toEqual({ content: [{ type: "text", text: "Queued for tg:100." }] });
    setTurn(undefined);
    expect(text(await h.sendMessage({ text: "psst", chatJid: "tg:200" }))).toBe("Queued for tg:200.");
    expect(seen.map((f) => [f.turn, f.request])).toEqual([
      [["m1"], { type: "message", chatJid: "tg:100", text: "hi" }],
      [undefined, { type: "message", chatJid: "tg:200", text: "psst" }],
    ]);
  });

  test("a refusal from the host is an error result with the host's reason", async () => {
    const { h } = setup(false, () => ({
      ok: false,
      text: "Refused: this group may only message its own chat.",
    }));
    expect(await h.sendMessage({ text: "x", chatJid: "tg:999" })).toEqual({
      content: [{ type: "text", text: "Refused: this group may only message its own chat." }],
      isError: true,
    });
  });

  test("schedule_task maps the tool's snake_case to the protocol; a bad request is never sent", async () => {
    const { h, seen } = setup(false, () => ({ ok: true, text: "Task t7 scheduled." }));
    const r = await h.scheduleTask({
      prompt: "water plants",
      schedule_type: "interval",
      schedule_value: "3600000",
      catch_up: "skip",
    });
    expect(text(r)).toBe("Task t7 scheduled.");
    expect(seen[0]?.request).toEqual({
      type: "schedule_task",
      prompt: "water plants",
      scheduleType: "interval",
      scheduleValue: "3600000",
      catchUp: "skip",
    });
    const bad = await h.scheduleTask({ prompt: "", schedule_type: "once", schedule_value: "x" });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/^Not sent: invalid request \(prompt\)/);
    expect(seen).toHaveLength(1);
  });

  test("pause/resume/cancel and list_tasks are requests; list_tasks returns the host's JSON as is", async () => {
    const { h, seen } = setup(false, (r) =>
      r.type === "list_tasks"
        ? { ok: true, text: '[{"id":"t1","status":"active"}]' }
        : { ok: true, text: "ok" },
    );
    await h.taskAction("pause_task", "t1");
    await h.taskAction("resume_task", "t1");
    await h.taskAction("cancel_task", "t2");
    expect(text(await h.listTasks())).toBe('[{"id":"t1","status":"active"}]');
    expect(seen.map((f) => JSON.stringify(f.request))).toEqual([
      '{"type":"pause_task","taskId":"t1"}',
      '{"type":"resume_task","taskId":"t1"}',
      '{"type":"cancel_task","taskId":"t2"}',
      '{"type":"list_tasks"}',
    ]);
  });

  test("register_group and list_groups are for the main group only", async () => {
    const other = setup(false, () => ({ ok: true, text: "ok" }));
    expect((await other.h.registerGroup({ jid: "tg:5", name: "Book club", folder: "books" })).isError).toBe(
      true,
    );
    expect((await other.h.listGroups()).isError).toBe(true);
    expect(other.seen).toEqual([]);

    const main = setup(true, (r) =>
      r.type === "list_groups" ? { ok: true, text: '{"groups":[]}' } : { ok: true, text: "Registered." },
    );
    const ok = await main.h.registerGroup({
      jid: "tg:5",
      name: "Book club",
      folder: "books",
      requires_trigger: true,
    });
    expect(text(ok)).toBe("Registered.");
    expect(text(await main.h.listGroups())).toBe('{"groups":[]}');
    expect(main.seen.map((f) => f.request)).toEqual([
      { type: "register_group", jid: "tg:5", name: "Book club", folder: "books", requiresTrigger: true },
      { type: "list_groups" },
    ]);
  });

  test("no reply in time, or the host gone, is an error result the model can read", async () => {
    const silent = setup(false, () => undefined);
    const late = await silent.h.sendMessage({ text: "anyone?" });
    expect(late.isError).toBe(true);
    expect(text(late)).toContain("did not answer");
    silent.link.close("stdin closed");
    const gone = await silent.h.listTasks();
    expect(gone.isError).toBe(true);
    expect(text(gone)).toContain("the host is gone");
  });

  test("the MCP server offers register_group and list_groups only to main", () => {
    const names = (isMain: boolean) => {
      const server = createNgbMcpServer({
        input: { chatJid: "c", isMain },
        link: { request: async () => ({ ok: true, text: "" }) },
        turn: () => undefined,
        log: silentRunnerLog,
      });
      expect(server.type).toBe("sdk");
      expect(server.name).toBe("ngb");
      // biome-ignore lint/suspicious/noExplicitAny: reading the MCP server's registered tools
      return Object.keys((server.instance as any)._registeredTools ?? {}).sort();
    };
    const base = ["cancel_task", "list_tasks", "pause_task", "resume_task", "schedule_task", "send_message"];
    expect(names(false)).toEqual(base);
    expect(names(true)).toEqual([...base, "list_groups", "register_group"].sort());
  });
});
