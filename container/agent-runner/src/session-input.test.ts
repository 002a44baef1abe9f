import { describe, expect, test } from "bun:test";
import { createSessionInput } from "./session-input.ts";

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

describe("session input", () => {
  test("first the prompt, then each follow-up in order", async () => {
    const s = createSessionInput({ prompt: "hello" });
    const it = s.messages[Symbol.asyncIterator]();
    expect(await take(it)).toBe("hello");
    const next = take(it);
    s.push("one");
    s.push("two");
    expect(await next).toBe("one");
    expect(await take(it)).toBe("two");
    expect(s.pending).toBe(3);
    s.end();
    expect(await take(it)).toBe("done");
    expect(s.endReason).toBe("ended");
  });

  test("the idle timer runs only while no turn is pending", async () => {
    const t = manualTimers();
    const s = createSessionInput({ prompt: "p", idleTimeoutMs: 1000, ...t });
    const it = s.messages[Symbol.asyncIterator]();
    expect(await take(it)).toBe("p");
    expect(t.count).toBe(0); // a turn is running
    s.turnDone();
    expect(t.count).toBe(1);
    s.push("more"); // new input cancels the idle timer
    expect(t.count).toBe(0);
    expect(await take(it)).toBe("more");
    s.turnDone(0);
    expect(t.count).toBe(1);
    const end = take(it);
    t.fire();
    expect(await end).toBe("done");
    expect(s.endReason).toBe("idle");
  });

  test("_close ends the input only after the running turn", async () => {
    const s = createSessionInput({ prompt: "p" });
    const it = s.messages[Symbol.asyncIterator]();
    expect(await take(it)).toBe("p");
    s.requestClose();
    expect(s.endReason).toBeUndefined();
    const end = take(it);
    s.turnDone();
    expect(await end).toBe("done");
    expect(s.endReason).toBe("close");
  });

  test("follow-ups queued before _close are still sent; input after the end is ignored", async () => {
    const s = createSessionInput({ prompt: "p" });
    const it = s.messages[Symbol.asyncIterator]();
    await take(it);
    s.push("queued");
    s.requestClose();
    s.turnDone();
    expect(await take(it)).toBe("queued");
    s.turnDone();
    expect(await take(it)).toBe("done");
    s.push("ignored");
    expect(await take(it)).toBe("done");
  });

  test("queued_turn_count 0 clears coalesced turns", async () => {
    const s = createSessionInput({ prompt: "p" });
    const it = s.messages[Symbol.asyncIterator]();
    await take(it);
    s.push("a");
    await take(it);
    expect(s.pending).toBe(2);
    s.turnDone(0);
    expect(s.pending).toBe(0);
  });
});
