import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { type AgentFrame, RequestFrame } from "../../../src/protocol/index.ts";
import { createHostLink, RequestError } from "./host-link.ts";
import { silentRunnerLog } from "./io.ts";

function setup(timeoutMs?: number) {
  const frames: AgentFrame[] = [];
  const link = createHostLink({ write: (f) => void frames.push(f), log: silentRunnerLog, timeoutMs });
  const requests = () => frames.filter((f) => f.type === "request") as v.InferOutput<typeof RequestFrame>[];
  return { link, frames, requests };
}

describe("host link", () => {
  test("each request is a valid frame with a fresh reqId and the turn; replies match by reqId", async () => {
    const { link, requests } = setup();
    const a = link.request({ type: "message", chatJid: "tg:1", text: "hello" }, ["m1", "m2"]);
    const b = link.request({ type: "list_tasks" });
    const [ra, rb] = requests();
    expect(requests().every((f) => v.is(RequestFrame, f))).toBe(true);
    expect(ra).toEqual({
      type: "request",
      reqId: expect.any(String),
      turn: ["m1", "m2"],
      request: { type: "message", chatJid: "tg:1", text: "hello" },
    });
    expect(rb?.turn).toBeUndefined();
    expect(ra?.reqId).not.toBe(rb?.reqId);
    expect(link.pending).toBe(2);
    // Answered out of order.
    expect(link.reply({ type: "reply", reqId: rb?.reqId as string, ok: true, text: "[]" })).toBe(true);
    expect(link.reply({ type: "reply", reqId: ra?.reqId as string, ok: false, text: "quota exceeded" })).toBe(
      true,
    );
    expect(await a).toEqual({ ok: false, text: "quota exceeded" });
    expect(await b).toEqual({ ok: true, text: "[]" });
    // A second reply for the same id, or for an unknown one, is ignored.
    expect(link.reply({ type: "reply", reqId: ra?.reqId as string, ok: true, text: "again" })).toBe(false);
    expect(link.reply({ type: "reply", reqId: "nobody", ok: true, text: "x" })).toBe(false);
    expect(link.pending).toBe(0);
  });

  test("an invalid request is refused before anything is written, naming the field", async () => {
    const { link, frames } = setup();
    await expect(link.request({ type: "message", chatJid: "tg:1", text: "" })).rejects.toThrow(
      /invalid request \(text\)/,
    );
    await expect(link.request({ type: "rm -rf" })).rejects.toThrow(RequestError);
    expect(frames).toEqual([]);
  });

  test("a reply that never comes resolves as an error after the timeout; a late reply is ignored", async () => {
    const { link, requests } = setup(30);
    const t0 = Date.now();
    const reply = await link.request({ type: "pause_task", taskId: "t1" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(reply.ok).toBe(false);
    expect(reply.text).toContain("did not answer");
    expect(link.reply({ type: "reply", reqId: requests()[0]?.reqId as string, ok: true, text: "late" })).toBe(
      false,
    );
  });

  test("the end of stdin rejects pending requests and every later one", async () => {
    const { link, frames } = setup();
    const pending = link.request({ type: "cancel_task", taskId: "t9" });
    link.close("stdin closed");
    await expect(pending).rejects.toThrow(/the host is gone \(stdin closed\) before answering cancel_task/);
    await expect(link.request({ type: "list_tasks" })).rejects.toThrow(/the host is gone/);
    expect(frames).toHaveLength(1);
    expect(link.pending).toBe(0);
  });
});
