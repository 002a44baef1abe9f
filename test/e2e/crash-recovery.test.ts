/**
 * Crash recovery, for real: `ngb serve` is killed with SIGKILL while the agent's model call is
 * in flight; a new serve removes the orphaned container, re-runs the group from its cursor, and
 * the reply arrives exactly once. A second SIGKILL after the reply must not re-send it.
 * Skipped (saying why) without a docker engine or the ngb-agent image.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { instanceIdOf } from "../../src/runtime/instance.ts";
import { openStore } from "../../src/store/index.ts";
import { type FakeAnthropic, startFakeAnthropic } from "../fakes/anthropic.ts";
import { agentImageAvailable } from "../support/engine.ts";
import type { ServeHandle } from "../support/ngb.ts";
import { until } from "../support/wait.ts";
import { chooseBinary, openWebChat, serveEnv, startServe } from "./serve-rig.ts";

const READY = await agentImageAvailable();
chooseBinary();

/** Names of this installation's agent containers (any state). */
function agentContainers(dir: string): string[] {
  const instance = instanceIdOf({ dataDir: join(dir, "data") });
  const out = Bun.spawnSync(
    ["docker", "ps", "-a", "--filter", `label=ngb.instance=${instance}`, "--format", "{{.Names}}"],
    {
      env: process.env,
    },
  );
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

describe.skipIf(!READY)("crash recovery with a real serve and container", () => {
  const dir = mkdtempSync(join(tmpdir(), "ngb-e2e-crash-"));
  let fake: FakeAnthropic;
  const serves: ServeHandle[] = [];

  afterAll(async () => {
    for (const s of serves) await s.stop("SIGKILL").catch(() => {});
    await fake?.stop();
    // A last serve start/stop would clean containers; remove ours directly.
    rmSync(dir, { recursive: true, force: true });
  });

  test("SIGKILL mid-run, restart: the reply arrives exactly once", async () => {
    let hang = true;
    fake = startFakeAnthropic({
      script: () => (hang ? { text: "too late", delayMs: 120_000 } : { text: "recovered answer" }),
    });
    const env = serveEnv(dir, fake);
    const first = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
    serves.push(first);
    const chat1 = await openWebChat(first);
    expect((await chat1.post("please answer")).status).toBe(201);
    // The agent is mid-run: its model call reached the fake (through the proxy).
    await fake.waitForRequests(1, 60_000);
    const before = agentContainers(dir);
    expect(before.length).toBeGreaterThan(0);
    chat1.close();
    expect(await first.stop("SIGKILL")).not.toBe(0);

    hang = false;
    const second = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
    serves.push(second);
    const chat2 = await openWebChat(second);
    const history = async () => (await chat2.history()).filter((m) => m.from === "assistant");
    await until(async () => (await history()).length > 0, {
      what: "the recovered reply",
      timeoutMs: 90_000,
      intervalMs: 100,
    });
    expect((await history()).map((m) => m.text)).toEqual(["recovered answer"]);
    // The container orphaned by the killed serve was removed at start-up.
    expect(second.logs()).toContain("removed orphaned agent containers");
    for (const name of before) expect(agentContainers(dir)).not.toContain(name);
    expect(second.logs()).toContain("re-queued groups with unanswered messages");

    // Killed again after the reply (its container may still be warm): nothing is re-sent.
    chat2.close();
    await second.stop("SIGKILL");
    const third = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
    serves.push(third);
    const chat3 = await openWebChat(third);
    // Recovery runs before serve reports its URL: nothing was re-queued, so nothing is re-sent.
    expect(third.logs()).not.toContain("re-queued groups");
    expect((await chat3.history()).filter((m) => m.from === "assistant").map((m) => m.text)).toEqual([
      "recovered answer",
    ]);
    chat3.close();
    expect(await third.stop()).toBe(0);
    const store = openStore(join(dir, "store", "ngb.db"), { readonly: true });
    try {
      expect(store.outbox.recent("sent").filter((o) => o.chatJid === "web:default")).toHaveLength(1);
      expect(store.groups.cursor("web:default")).toBe(1);
    } finally {
      store.close();
    }
  }, 240_000);
});
