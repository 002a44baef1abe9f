import { describe, expect, test } from "bun:test";
import { createSessionInput, type SessionInputItem, takeTurn } from "./session-input.ts";

/** Manual timers: `fire()` runs what is due. */
function manualTimers() {
  const timers = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  return {
    setTimer: (fn: () => void, ms: number) => {
      const id = next++;
      timers.set(id, { fn, ms });
      return id;
    },
    clearTimer: (id: unknown) => void timers.delete(id as number),
    get count() {
      return timers.size;
    },
    fire() {
      const all = [...timers.entries()];
      timers.clear();
      for (const [, t] of all) t.fn();
    },
  };
}

async function take(it: AsyncIterator<unknown>): Promise<string | "done"> {
  const r = await it.next();
  if (r.done) return "done";
  return (r.value as { message: { content: string } }).message.content;
}

/** Whether the generator yields within a few event-loop turns (it must not while a turn runs). */
async function yieldsSoon(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(() => {
    settled = true;
  });
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 1));
  return settled;
}

const item = (id: string, thread?: string): SessionInputItem => ({ id, text: `text ${id}`, thread });

describe("takeTurn", () => {
  test("merges the head with the same-thread inputs right behind it, never across threads", () => {
    const q = [item("a", "t1"), item("b", "t1"), item("c", "t2"), item("d", "t1"), item("e"), item("f", "")];
    expect(takeTurn(q)).toEqual({ ids: ["a", "b"], text: "text a\n\ntext b" });
    expect(takeTurn(q)).toEqual({ ids: ["c"], text: "text c" });
    expect(takeTurn(q)).toEqual({ ids: ["d"], text: "text d" });
    expect(takeTurn(q)).toEqual({ ids: ["e", "f"], text: "text e\n\ntext f" }); // no thread = ""
    expect(takeTurn(q)).toBeUndefined();
  });
});

describe("session input", () => {
  test("the start prompt first; nothing more is handed over while a turn runs", async () => {
    const s = createSessionInput({ first: item("m1", "t1") });
    const it = s.messages[Symbol.asyncIterator]();
    expect(await take(it)).toBe("text m1");
    expect(s.inFlight).toEqual(["m1"]);
    const next = take(it);
    s.push(item("m2", "t1"));
    s.push(item("m3", "t1"));
    s.push(item("m4", "t2"));
    expect(await yieldsSoon(next)).toBe(false); // the SDK would fold it into the running turn
    expect(s.queued).toBe(3);
    expect(s.turnDone()).toEqual(["m1"]);
    expect(await next).toBe("text m2\n\ntext m3");
    expect(s.inFlight).toEqual(["m2", "m3"]);
    const after = take(it);
    expect(await yieldsSoon(after)).toBe(false);
    expect(s.turnDone()).toEqual(["m2", "m3"]);
    expect(await after).toBe("text m4");
    expect(s.turnDone()).toEqual(["m4"]);
    expect(s.inFlight).toBeUndefined();
    s.end();
    expect(await take(it)).toBe("done");
    expect(s.endReason).toBe("ended");
  });

  test("a result with no turn in flight (a turn the SDK started itself) consumed nothing", async () => {
    const s = createSessionInput({ first: item("m1") });
    const it = s.messages[Symbol.asyncIterator]();
    await take(it);
    expect(s.turnDone()).toEqual(["m1"]);
    expect(s.turnDone()).toEqual([]);
  });

  test("the idle timer runs only while no turn is in flight and nothing is queued", async () => {
    const t = manualTimers();
    const s = createSessionInput({ first: item("p"), idleTimeoutMs: 1000, ...t });
    const it = s.messages[Symbol.asyncIterator]();
    expect(await take(it)).toBe("text p");
    expect(t.count).toBe(0); // a turn is running
    s.turnDone();
    expect(t.count).toBe(1);
    s.push(item("more")); // new input cancels the idle timer
    expect(t.count).toBe(0);
    expect(await take(it)).toBe("text more");
    s.turnDone();
    expect(t.count).toBe(1);
    const end = take(it);
    t.fire();
    expect(await end).toBe("done");
    expect(s.endReason).toBe("idle");
  });

  test("close ends the input only after the running turn and the inputs still queued", async () => {
    const s = createSessionInput({ first: item("p") });
    const it = s.messages[Symbol.asyncIterator]();
    expect(await take(it)).toBe("text p");
    s.push(item("queued", "other"));
    s.requestClose();
    expect(s.endReason).toBeUndefined();
    s.turnDone();
    expect(await take(it)).toBe("text queued");
    expect(s.endReason).toBeUndefined();
    const end = take(it);
    expect(s.turnDone()).toEqual(["queued"]);
    expect(await end).toBe("done");
    expect(s.endReason).toBe("close");
    expect(s.push(item("late"))).toBe(false);
    expect(await take(it)).toBe("done");
  });

  test("end() while a turn runs ends the input at once", async () => {
    const s = createSessionInput({ first: item("p") });
    const it = s.messages[Symbol.asyncIterator]();
    await take(it);
    s.push(item("never"));
    const next = take(it);
    s.end();
    expect(await next).toBe("done");
    expect(s.endReason).toBe("ended");
  });
});

describe("session input: the CLI's echo of message uuids", () => {
  test("each message has a fresh uuid; a result echoing it consumes the turn", async () => {
    const s = createSessionInput({ first: item("m1") });
    const it = s.messages[Symbol.asyncIterator]();
    const first = (await it.next()).value as { uuid: string };
    expect(first.uuid).toBe(s.inFlightUuid as string);
    expect(s.turnDone([first.uuid])).toEqual(["m1"]);
    s.push(item("m2"));
    const second = (await it.next()).value as { uuid: string };
    expect(second.uuid).not.toBe(first.uuid);
    s.end();
  });

  test("a result echoing other uuids (a turn the CLI started) consumed nothing; ours stays in flight", async () => {
    const s = createSessionInput({ first: item("m1") });
    const it = s.messages[Symbol.asyncIterator]();
    await take(it);
    s.push(item("m2"));
    const next = take(it);
    expect(s.turnDone(["00000000-0000-4000-8000-000000000000"])).toEqual([]);
    expect(s.inFlight).toEqual(["m1"]);
    expect(await yieldsSoon(next)).toBe(false);
    expect(s.turnDone([s.inFlightUuid as string])).toEqual(["m1"]);
    expect(await next).toBe("text m2");
    // No echo at all (an older CLI): the result is the in-flight turn's.
    expect(s.turnDone(undefined)).toEqual(["m2"]);
    s.end();
  });
});
