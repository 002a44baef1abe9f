/**
 * Exactly-once, for real (issue 9): the compiled serve, the real agent image and SDK, a fake
 * Telegram with a forum group, a mention-only group, a plain group and a private chat; bursts
 * of messages 0.3 s apart; then the same with SIGKILLs at chosen points. Every message must be
 * answered, once, in its own topic, and be in the stored history. (A larger run is in the bench.)
 */
import { describe, expect, test } from "bun:test";
import { agentImageAvailable } from "../support/engine.ts";
import { runScenario } from "./exactly-once-harness.ts";
import { chooseBinary } from "./serve-rig.ts";

const READY = await agentImageAvailable();
chooseBinary();

describe.skipIf(!READY)("every message answered exactly once (compiled serve, real agent)", () => {
  test("bursts over five chats and two forum topics, no crash", async () => {
    const r = await runScenario({ messages: 16, gapMs: 300, burst: 3 });
    expect(r).toMatchObject({ lost: [], twice: [], wrongThread: [], missingFromHistory: [] });
    expect(r.messages).toBe(16);
  }, 240_000);

  test("with SIGKILL after a send was accepted, mid-run, after an inbound update and during recovery", async () => {
    const r = await runScenario({
      messages: 16,
      gapMs: 300,
      burst: 3,
      kills: ["after-accept", "mid-run", "after-inbound", "startup"],
    });
    expect(r.kills).toBeGreaterThanOrEqual(3);
    expect(r).toMatchObject({ lost: [], twice: [], wrongThread: [], missingFromHistory: [] });
  }, 300_000);
});
