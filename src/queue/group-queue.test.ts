import { describe, expect, test } from "bun:test";
import { createEventBus } from "../events/index.ts";
import { createGroupQueue, NoRetryError, type QueueJob, type QueueTimers, RetryLaterError } from "./index.ts";

/** Timers driven by hand: `advance(ms)` fires what is due, in order. */
function manualTimers() {
  let now = 0;
  let nextId = 1;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: QueueTimers = {
    setTimeout(fn, ms) {
      const id = nextId++;
      pending.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(h) {
      pending.delete(h as number);
    },
  };
  return {
    timers,
    delays: () => [...pending.values()].map((p) => p.at - now),
    advance(ms: number) {
      now += ms;
      for (const [id, p] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (p.at <= now) {
          pending.delete(id);
          p.fn();
        }
      }
    },
  };
}

/** A job whose completion the test controls. */
function gate() {
  let release!: () => void;
  let fail!: (e: Error) => void;
  const p = new Promise<void>((res, rej) => {
    release = res;
    fail = rej;
  });
  return { p, release, fail };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function recorder() {
  const log: string[] = [];
  const gates = new Map<string, ReturnType<typeof gate>>();
  const job = (kind: QueueJob["kind"], id: string, extra: Partial<QueueJob> = {}): QueueJob => ({
    kind,
    id,
    run() {
      log.push(`start ${id}`);
      const g = gate();
      gates.set(id, g);
      return g.p.then(() => void log.push(`end ${id}`));
    },
    ...extra,
  });
  return { log, gates, job };
}

describe("group queue", () => {
  test("at most one job per group and maxConcurrent overall", async () => {
    const q = createGroupQueue({ maxConcurrent: 2, maxRetries: 0, retryBaseMs: 10 });
    const r = recorder();
    q.enqueue("a", r.job("messages", "a1"));
    q.enqueue("a", r.job("task", "a-task"));
    q.enqueue("b", r.job("messages", "b1"));
    q.enqueue("c", r.job("messages", "c1"));
    await tick();
    expect(r.log).toEqual(["start a1", "start b1"]);
    expect(q.stats()).toMatchObject({ active: 2, waiting: 1 });
    r.gates.get("a1")!.release();
    await tick();
    // c waited first (a re-joined the line after its job ended).
    expect(r.log).toEqual(["start a1", "start b1", "end a1", "start c1"]);
    r.gates.get("b1")!.release();
    await tick();
    expect(r.log.at(-1)).toBe("start a-task");
    r.gates.get("c1")!.release();
    r.gates.get("a-task")!.release();
    await tick();
    expect(q.stats()).toMatchObject({ active: 0, waiting: 0 });
  });

  test("waiting groups are served FIFO", async () => {
    const q = createGroupQueue({ maxConcurrent: 1, maxRetries: 0, retryBaseMs: 10 });
    const r = recorder();
    for (const g of ["g1", "g2", "g3", "g4"]) q.enqueue(g, r.job("messages", g));
    for (const g of ["g1", "g2", "g3", "g4"]) {
      await tick();
      expect(r.log.at(-1)).toBe(`start ${g}`);
      r.gates.get(g)!.release();
    }
  });

  test("a group's tasks go before its message run; duplicates coalesce", async () => {
    const q = createGroupQueue({ maxConcurrent: 1, maxRetries: 0, retryBaseMs: 10 });
    const r = recorder();
    q.enqueue("x", r.job("messages", "busy"));
    expect(q.enqueue("a", r.job("messages", "m"))).toBe(true);
    expect(q.enqueue("a", r.job("messages", "m"))).toBe(false);
    expect(q.enqueue("a", r.job("task", "t1"))).toBe(true);
    expect(q.enqueue("a", r.job("task", "t1"))).toBe(false);
    q.enqueue("a", r.job("task", "t2"));
    await tick();
    r.gates.get("busy")!.release();
    await tick();
    expect(r.log.at(-1)).toBe("start t1");
    r.gates.get("t1")!.release();
    await tick();
    // Other groups would be served between; none wait, so a continues.
    expect(r.log.at(-1)).toBe("start t2");
    r.gates.get("t2")!.release();
    await tick();
    expect(r.log.at(-1)).toBe("start m");
  });

  test("failures retry with exponential backoff, then give up and report", async () => {
    const t = manualTimers();
    const events = createEventBus();
    const changes: number[] = [];
    events.on("queue.changed", (e) => changes.push(e.active));
    const q = createGroupQueue({
      maxConcurrent: 1,
      maxRetries: 3,
      retryBaseMs: 100,
      timers: t.timers,
      random: () => 0.5,
      events,
    });
    let runs = 0;
    let gaveUp: { err: string; attempts: number } | null = null;
    q.enqueue("a", {
      kind: "messages",
      id: "m",
      async run() {
        runs++;
        throw new Error(`boom ${runs}`);
      },
      onGiveUp(err, attempts) {
        gaveUp = { err: (err as Error).message, attempts };
      },
    });
    await tick();
    expect(runs).toBe(1);
    expect(t.delays()).toEqual([100]);
    t.advance(99);
    await tick();
    expect(runs).toBe(1);
    t.advance(1);
    await tick();
    expect(runs).toBe(2);
    expect(t.delays()).toEqual([200]);
    t.advance(200);
    await tick();
    expect(t.delays()).toEqual([400]);
    t.advance(400);
    await tick();
    expect(runs).toBe(4);
    expect(gaveUp as unknown).toEqual({ err: "boom 4", attempts: 4 });
    expect(t.delays()).toEqual([]);
    expect(changes).toContain(1);
    expect(changes.at(-1)).toBe(0);
  });

  test("jitter stays within ±20% and a retry succeeding stops the cycle", async () => {
    const t = manualTimers();
    const q = createGroupQueue({
      maxConcurrent: 1,
      maxRetries: 2,
      retryBaseMs: 1000,
      timers: t.timers,
      random: () => 0.999,
    });
    let runs = 0;
    let gaveUp = false;
    q.enqueue("a", {
      kind: "task",
      id: "t",
      async run() {
        runs++;
        if (runs === 1) throw new Error("once");
      },
      onGiveUp: () => {
        gaveUp = true;
      },
    });
    await tick();
    expect(t.delays()[0]).toBeGreaterThan(1000);
    expect(t.delays()[0]).toBeLessThanOrEqual(1200);
    t.advance(1200);
    await tick();
    expect(runs).toBe(2);
    expect(gaveUp).toBe(false);
    expect(t.delays()).toEqual([]);
  });

  test("NoRetryError gives up at once; other groups carry on while one backs off", async () => {
    const t = manualTimers();
    const q = createGroupQueue({ maxConcurrent: 1, maxRetries: 5, retryBaseMs: 50, timers: t.timers });
    const given: string[] = [];
    q.enqueue("a", {
      kind: "messages",
      id: "m",
      run: async () => {
        throw new NoRetryError("group removed");
      },
      onGiveUp: (e) => void given.push((e as Error).message),
    });
    const r = recorder();
    q.enqueue("b", r.job("messages", "b"));
    await tick();
    expect(given).toEqual(["group removed"]);
    expect(r.log).toEqual(["start b"]);
    expect(t.delays()).toEqual([]);
  });

  test("an idle warm job is closed when a task for its group arrives or others wait", async () => {
    const q = createGroupQueue({ maxConcurrent: 1, maxRetries: 0, retryBaseMs: 10 });
    const r = recorder();
    q.enqueue("a", r.job("messages", "warm"));
    await tick();
    let closed = 0;
    q.markIdle("a", () => {
      closed++;
      r.gates.get("warm")!.release();
    });
    expect(closed).toBe(0);
    q.enqueue("b", r.job("messages", "b"));
    expect(closed).toBe(1);
    await tick();
    expect(r.log.at(-1)).toBe("start b");
    // A task for the active group closes its idle job too.
    q.markIdle("b", () => {
      closed++;
      r.gates.get("b")!.release();
    });
    q.enqueue("b", r.job("task", "bt"));
    expect(closed).toBe(2);
    await tick();
    expect(r.log.at(-1)).toBe("start bt");
  });

  test("stop: no new jobs, no retries, waits for the active ones", async () => {
    const t = manualTimers();
    const q = createGroupQueue({ maxConcurrent: 1, maxRetries: 3, retryBaseMs: 10, timers: t.timers });
    const r = recorder();
    q.enqueue("a", r.job("messages", "a"));
    q.enqueue("b", r.job("messages", "b"));
    await tick();
    let stopped = false;
    const s = q.stop().then(() => {
      stopped = true;
    });
    await tick();
    expect(stopped).toBe(false);
    r.gates.get("a")!.fail(new Error("killed by shutdown"));
    await s;
    expect(r.log).toEqual(["start a"]);
    expect(t.delays()).toEqual([]);
    expect(q.enqueue("c", r.job("messages", "c"))).toBe(false);
  });

  test("a job failing for an outside reason waits without using retries; wake() runs it at once", async () => {
    const t = manualTimers();
    const q = createGroupQueue({
      maxConcurrent: 1,
      maxRetries: 1,
      retryBaseMs: 100,
      timers: t.timers,
      random: () => 0.5,
    });
    let runs = 0;
    let gaveUp = false;
    q.enqueue("g", {
      kind: "messages",
      id: "m",
      async run() {
        runs++;
        if (runs <= 5) throw new RetryLaterError("engine down", 15_000);
      },
      onGiveUp: () => {
        gaveUp = true;
      },
    });
    await tick();
    expect(runs).toBe(1);
    expect(t.delays()).toEqual([15_000]);
    for (let i = 0; i < 3; i++) {
      t.advance(15_000);
      await tick();
    }
    expect(runs).toBe(4);
    expect(gaveUp).toBe(false); // four failures, maxRetries 1: an outside reason never gives up
    q.wake();
    await tick();
    expect(runs).toBe(5);
    q.wake();
    await tick();
    expect(runs).toBe(6);
    expect(gaveUp).toBe(false);
    expect(q.stats().retrying).toBe(0);
    await q.stop();
  });
});
