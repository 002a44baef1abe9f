/**
 * The orchestrator: the heart of the loop. Channels push messages in through the sink; the
 * store insert emits `message.stored`, and the orchestrator reacts to that event (never by
 * polling the database): a triggering message in a registered group either goes to the group's
 * warm agent as a follow-up or queues a run (message-run.ts). Replies leave through the outbox
 * (delivery.ts). Start-up settles the outbox and re-queues groups with open messages, so a crash
 * loses nothing and repeats nothing. While the container engine is unreachable, runs wait for it.
 */
import type { Config } from "../config/index.ts";
import type { AgentRunner } from "../container/types.ts";
import type { EventBus, EventMap } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import type { ContainerInput } from "../protocol/index.ts";
import type { GroupQueue } from "../queue/index.ts";
import type { RegisteredGroup, ScheduledTask, Store } from "../store/index.ts";
import { dirSize } from "../util/dir-size.ts";
import { errorMessage } from "../util/errors.ts";
import type { Channel, ChannelSink } from "./channel.ts";
import { createDelivery, type Deliver, findChannel, type UnknownFatePolicy } from "./delivery.ts";
import { ensureGroupFolder } from "./groups.ts";
import { noopHooks, type PipelineHooks } from "./hooks.ts";
import type { Live } from "./live.ts";
import { createMessageRuns, type HandleRequest } from "./message-run.ts";
import { createSink } from "./sink.ts";
import { createTaskRuns, type PromptOutcome, type TaskRunOutcome } from "./task-run.ts";
import { isTriggered } from "./trigger.ts";

export type { PromptOutcome, TaskRunOutcome };

/** A run refused because the group's folder is over its size quota (not retried). */
export class GroupFolderFullError extends Error {
  override name = "GroupFolderFullError";
}

export interface OrchestratorDeps {
  config: Config;
  store: Store;
  events: EventBus;
  queue: GroupQueue;
  runner: AgentRunner;
  channels: Channel[];
  log: Logger;
  clock?: { now(): number };
  /** Answers the agents' IPC requests (src/ipc); default: every request refused. */
  handleRequest?: HandleRequest;
  hooks?: PipelineHooks;
  /** Waits between send attempts of one reply (see createDelivery). */
  sendBackoffMs?: readonly number[];
  unknownFate?: UnknownFatePolicy;
  /** How often the engine is asked while it is unreachable. Default 2 s. */
  enginePollMs?: number;
}

export interface Orchestrator {
  start(): Promise<void>;
  /** Kill running agents, stop the queue, disconnect channels. */
  stop(): Promise<void>;
  /** The sink a channel pushes into (one per channel, for status attribution). */
  sinkFor(channel: Channel): ChannelSink;
  /** Send through the owning channel (via the outbox); stores the reply. */
  deliver: Deliver;
  channels(): readonly Channel[];
  /** Run a scheduled task now, in the group's container (the queue is bypassed). */
  runTask(task: ScheduledTask, scheduledFor: number): Promise<TaskRunOutcome>;
  /** Queue a task run behind the group's current job (tasks go before messages). */
  dispatchTask(task: ScheduledTask, scheduledFor: number): Promise<TaskRunOutcome>;
  /** Queue a one-off prompt in the group's container; results come back, nothing goes to the chat. */
  dispatchPrompt(group: RegisteredGroup, prompt: string, opts?: { resume?: boolean }): Promise<PromptOutcome>;
  /** Queue a message run for a group if it has triggering messages after its cursor. */
  recoverGroup(jid: string): boolean;
  /** Kill a running agent by container name; false when none runs under that name. */
  stopContainer(name: string): Promise<boolean>;
  /** The credential proxy saw no key or a refused key for this group: stop its run, no retries. */
  authFailed(groupFolder: string, detail: string): void;
  /** Running agents with what they run for. */
  containers(): {
    name: string;
    groupFolder: string;
    chatJid: string;
    startedAt: number;
    reason: "messages" | "task";
  }[];
}

export function createOrchestrator(deps: OrchestratorDeps): Orchestrator {
  const { config, store, events, queue, runner } = deps;
  const log = deps.log.withTag("orchestrator");
  const now = () => (deps.clock ?? Date).now();
  const channels = deps.channels;
  const hooks = deps.hooks ?? noopHooks;
  const live = new Map<string, Live>();
  const unsubscribe: (() => void)[] = [];
  let stopping = false;
  let engineTimer: ReturnType<typeof setInterval> | undefined;

  const delivery = createDelivery({
    store,
    events,
    channels: () => channels,
    assistantName: config.assistantName,
    backoffMs: deps.sendBackoffMs,
    unknownFate: deps.unknownFate,
    hooks,
    log,
    now,
  });

  const typing = (jid: string, on: boolean) => {
    const ch = findChannel(channels, jid);
    ch?.setTyping?.(jid, on).catch(() => {});
  };

  const baseInput = (group: RegisteredGroup): Omit<ContainerInput, "prompt" | "chatJid" | "inputId"> => ({
    groupFolder: group.folder,
    isMain: group.isMain,
    assistantName: config.assistantName,
    model: config.anthropic.model,
    idleTimeoutMs: config.container.idleTimeoutMs,
  });

  const prepare = (group: RegisteredGroup) => {
    const dir = ensureGroupFolder(config.groupsDir, group);
    const limit = config.container.maxGroupFolderBytes;
    if (limit > 0) {
      const { bytes } = dirSize(dir);
      if (bytes > limit)
        throw new GroupFolderFullError(
          `the group folder ${group.folder} holds ${Math.round(bytes / 1048576)} MB, over the ${Math.round(limit / 1048576)} MB limit (container.maxGroupFolderBytes); remove files from it`,
        );
    }
  };

  const handleRequest: HandleRequest =
    deps.handleRequest ?? (async () => ({ ok: false, text: "IPC requests are not available on this host." }));

  /** Watch an unreachable engine; when it answers again, every waiting run goes at once. */
  function engineDown(error: string): void {
    if (engineTimer || stopping) return;
    events.emit("engine.status", { ok: false, error });
    engineTimer = setInterval(async () => {
      const state = await runner.probeEngine().catch(() => null);
      if (!state?.ok || !engineTimer) return;
      clearInterval(engineTimer);
      engineTimer = undefined;
      events.emit("engine.status", { ok: true });
      queue.wake();
    }, deps.enginePollMs ?? 2_000);
    engineTimer.unref?.();
  }

  const runs = createMessageRuns({
    config,
    store,
    events,
    queue,
    runner,
    delivery,
    hooks,
    log,
    now,
    live,
    channelFor: (jid) => findChannel(channels, jid) !== undefined,
    typing,
    prepare,
    baseInput,
    handleRequest,
    engineDown,
  });
  const { recoverGroup } = runs;

  function onStored(e: EventMap["message.stored"]): void {
    if (stopping || e.isFromMe) return;
    const group = store.groups.get(e.chatJid);
    if (!group) return;
    const st = live.get(e.chatJid);
    if (st?.mode === "messages" && st.accepting) {
      runs.followUp(e.chatJid);
      return;
    }
    const m = store.messages.get(e.seq);
    if (m && isTriggered(m, group, config)) runs.enqueueMessages(e.chatJid);
  }

  const tasks = createTaskRuns({
    store,
    events,
    queue,
    runner,
    deliver: delivery.deliver,
    hooks,
    now,
    live,
    prepare,
    baseInput,
    recoverGroup,
    handleRequest,
    engineDown,
  });

  const sinkFor = (channel: Channel) => createSink(channel, { store, events, log, now, hooks });

  return {
    async start() {
      unsubscribe.push(events.on("message.stored", onStored));
      try {
        const removed = await runner.cleanupOrphans();
        if (removed > 0) log.info("removed orphaned agent containers", { count: removed });
      } catch (err) {
        log.warn("orphan cleanup failed", { error: errorMessage(err) });
      }
      await Promise.all(
        channels.map(async (ch) => {
          try {
            await ch.connect(sinkFor(ch));
          } catch (err) {
            log.error("channel failed to connect", { channel: ch.name, error: errorMessage(err) });
            events.emit("channel.status", { channel: ch.name, state: "error", error: errorMessage(err) });
          }
        }),
      );
      try {
        delivery.recover();
      } catch (err) {
        log.error("outbox recovery failed", { error: errorMessage(err) });
      }
      let recovered = 0;
      for (const g of store.groups.list()) if (recoverGroup(g.jid)) recovered++;
      if (recovered > 0) log.info("re-queued groups with unanswered messages", { groups: recovered });
    },
    async stop() {
      stopping = true;
      clearInterval(engineTimer);
      engineTimer = undefined;
      for (const u of unsubscribe.splice(0)) u();
      const procs = [...live.values()].flatMap((s) => (s.proc ? [s.proc] : []));
      const stopped = queue.stop();
      await Promise.allSettled(procs.map((p) => p.kill("shutdown")));
      await stopped;
      await delivery.stop();
      await Promise.allSettled(channels.map((ch) => ch.disconnect()));
    },
    sinkFor,
    deliver: delivery.deliver,
    channels: () => channels,
    runTask: tasks.runTask,
    dispatchTask: tasks.dispatchTask,
    dispatchPrompt: tasks.dispatchPrompt,
    recoverGroup,
    authFailed: runs.stopForAuth,
    async stopContainer(name) {
      for (const st of live.values()) {
        if (st.proc?.name === name) {
          st.noRetry ??= "stopped by request";
          await st.proc.kill("stopped by request");
          return true;
        }
      }
      return false;
    },
    containers() {
      const out: ReturnType<Orchestrator["containers"]> = [];
      for (const [jid, st] of live)
        if (st.proc)
          out.push({
            name: st.proc.name,
            groupFolder: st.proc.groupFolder,
            chatJid: jid,
            startedAt: st.proc.startedAt,
            reason: st.mode === "task" ? "task" : "messages",
          });
      return out;
    },
  };
}
