/**
 * Issue 11's engine figure: time from the container engine's return to the last pending answer.
 * The real orchestrator and queue with the in-process fake runner (its engine switched off and
 * on), the default engine probe interval (2 s): what a user waits after `dockerd` is back.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { createFakeRunner } from "../../test/fakes/agent-runner.ts";
import { createMemoryChannel } from "../../test/fakes/memory-channel.ts";
import { Config } from "../../src/config/index.ts";
import { createEventBus } from "../../src/events/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { createOrchestrator } from "../../src/orchestrator/index.ts";
import { createGroupQueue } from "../../src/queue/index.ts";
import { openStore } from "../../src/store/index.ts";

export async function bench(): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), "ngb-bench-faults-"));
  const config = v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
  });
  const store = openStore(join(dir, "store", "ngb.db"));
  const events = createEventBus();
  const log = silentLogger();
  const runner = createFakeRunner();
  const channel = createMemoryChannel();
  const queue = createGroupQueue({ maxConcurrent: 4, maxRetries: 3, retryBaseMs: 5_000, log, events });
  const orch = createOrchestrator({ config, store, events, queue, runner, channels: [channel], log });
  const groups = 8;
  try {
    await orch.start();
    for (let i = 0; i < groups; i++)
      store.groups.add({
        jid: `mem:g${i}`,
        name: `g${i}`,
        folder: `g${i}`,
        triggerPattern: null,
        requiresTrigger: false,
        isMain: false,
        containerConfig: null,
      });
    runner.setEngine(false);
    for (let i = 0; i < groups; i++) await channel.receive(`mem:g${i}`, `while down ${i}`);
    await Bun.sleep(3_000); // every group has tried and is waiting for the engine
    const back = performance.now();
    runner.setEngine(true);
    await channel.waitForSent(groups, 60_000);
    const wait = performance.now() - back;
    return {
      [`engine back → last of ${groups} pending answers (probe every 2 s)`]: `${Math.round(wait)} ms`,
      "answers given up while the engine was away": String(
        channel.sent.filter((s) => s.text.includes("could not answer")).length,
      ),
    };
  } finally {
    await orch.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(await bench());
