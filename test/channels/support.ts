/**
 * Shared helpers for channel integration tests: a real temp SQLite store behind a minimal
 * `ChannelSink`, a logger that records instead of printing, and a deadline-bounded wait.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConsola, type LogObject } from "consola";
import type { Logger } from "../../src/log/index.ts";
import type {
  ChannelSink,
  ChannelStatusUpdate,
  ChatInfo,
  InboundMessage,
} from "../../src/orchestrator/channel.ts";
import * as v from "valibot";
import { Config } from "../../src/config/index.ts";
import { createEventBus } from "../../src/events/index.ts";
import { silentLogger } from "../../src/log/index.ts";
import { type Channel, createOrchestrator, type Orchestrator } from "../../src/orchestrator/index.ts";
import { createGroupQueue } from "../../src/queue/index.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import { createFakeRunner, type FakeRespond, type FakeRunner } from "../fakes/agent-runner.ts";
import { outboxDrained } from "../support/settled.ts";
import { until } from "../support/wait.ts";

export interface StoreSink extends ChannelSink {
  store: Store;
  statuses: ChannelStatusUpdate[];
  discoveredChats: ChatInfo[];
  /** Every call to inbound, duplicates included. */
  inboundCalls: InboundMessage[];
  /** Make the next `n` inbound calls throw (simulated store failure). */
  failNext(n: number): void;
  close(): void;
}

/** A sink over a temp store; `channel` is the name the real sink would pass (recorded on chats). */
export function createStoreSink(prefix = "ngb-channel-", channel = "unknown"): StoreSink {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = openStore(join(dir, "ngb.db"));
  let failures = 0;
  const sink: StoreSink = {
    store,
    statuses: [],
    discoveredChats: [],
    inboundCalls: [],
    failNext(n) {
      failures = n;
    },
    async inbound(message) {
      sink.inboundCalls.push(message);
      if (failures > 0) {
        failures--;
        throw new Error("simulated store failure");
      }
      return store.messages.insert(message, Date.now(), channel) !== null;
    },
    discovered(chat) {
      sink.discoveredChats.push(chat);
      store.messages.discoverChat(chat, Date.now(), channel);
    },
    status(update) {
      sink.statuses.push(update);
    },
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return sink;
}

export interface CapturingLogger {
  log: Logger;
  records: LogObject[];
  /** Messages (first string arg) at warn level or worse. */
  warnings(): string[];
}

export function capturingLogger(): CapturingLogger {
  const records: LogObject[] = [];
  const log = createConsola({ level: 5, reporters: [{ log: (obj) => records.push(obj) }] });
  return {
    log,
    records,
    warnings: () =>
      records
        .filter((r) => r.level <= 1)
        .map((r) => [r.args[0], ...r.args.slice(1).map((a) => JSON.stringify(a))].join(" ")),
  };
}

/** All stored message ids of a chat, in store order. */
export function storedIds(store: Store, jid: string): string[] {
  return store.messages.since(jid, 0, 100_000).map((m) => m.id);
}

/**
 * The real orchestrator (store, queue, delivery) with one channel and a fake agent runner, for
 * "platform → adapter → agent → reply at the fake platform" tests. One non-main group `team`
 * that needs the trigger is registered for `jid`. Call `start()`, then `stop()` in afterEach.
 */
export interface LoopRig {
  dir: string;
  config: Config;
  store: Store;
  runner: FakeRunner;
  channel: Channel;
  orch: Orchestrator;
  /**
   * Resolves once the loop is at rest: no agent turn running or queued, no reply waiting in the
   * outbox. A check that something did NOT happen belongs after this. (Untriggered chatter may
   * stay open: it waits, by design, as context for the next trigger.)
   */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function createLoopRig(opts: {
  prefix: string;
  jid: string;
  respond: FakeRespond;
  channel: (config: Config) => Channel;
}): LoopRig {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  const config = v.parse(Config, {
    dataDir: join(dir, "data"),
    groupsDir: join(dir, "groups"),
    storeDir: join(dir, "store"),
    retryBaseMs: 5,
  });
  const store = openStore(join(dir, "ngb.db"));
  const log = silentLogger();
  const events = createEventBus();
  const runner = createFakeRunner({ respond: opts.respond });
  const queue = createGroupQueue({ maxConcurrent: 2, maxRetries: 1, retryBaseMs: 5, log, events });
  store.groups.add({
    jid: opts.jid,
    name: "team",
    folder: "team",
    triggerPattern: null,
    requiresTrigger: true,
    isMain: false,
    containerConfig: null,
  });
  const channel = opts.channel(config);
  const orch = createOrchestrator({ config, store, events, queue, runner, channels: [channel], log });
  return {
    dir,
    config,
    store,
    runner,
    channel,
    orch,
    async settled(timeoutMs = 10_000) {
      await until(() => runner.idle() && queue.stats().waiting === 0 && outboxDrained(store), {
        what: "the loop to settle",
        timeoutMs,
      });
    },
    async stop() {
      await orch.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The suite's one polling wait (test/support/wait.ts), under the name the channel tests use. */
export { until as waitFor } from "../support/wait.ts";
