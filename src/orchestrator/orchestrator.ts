/**
 * The orchestrator: the heart of the loop. Channels push messages in through the sink; the
 * store insert emits `message.stored`, and the orchestrator reacts to that event (never by
 * polling the database): a triggering message in a registered group either goes to the group's
 * warm agent as a follow-up or queues a run. A run hands every message since the group's cursor
 * to the agent as XML, delivers each streamed result through the owning channel with an
 * idempotency key, and advances the cursor only after delivery. Start-up re-queues groups with
 * unprocessed messages, so a crash loses nothing and (thanks to the keys) repeats nothing.
 */
import { mkdirSync } from "node:fs";
import type { Config } from "../config/index.ts";
import type { AgentProcess, AgentRunner } from "../container/types.ts";
import type { EventBus, EventMap } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import { noopHooks, type PipelineHooks } from "../plugins/index.ts";
import type { ContainerInput, ContainerOutput } from "../protocol/index.ts";
import type { GroupQueue, QueueJob } from "../queue/index.ts";
import { outboundText } from "../router/index.ts";
import type { RegisteredGroup, ScheduledTask, Store, StoredMessage } from "../store/index.ts";
import { errorMessage } from "../util/errors.ts";
import type { Channel, ChannelSink } from "./channel.ts";
import { createDelivery, type Deliver, findChannel } from "./delivery.ts";
import { formatMessages } from "./format.ts";
import { ensureGroupFolder } from "./groups.ts";
import { type TasksSnapshot, writeSnapshots } from "./snapshots.ts";
import { type Live, newLive } from "./live.ts";
import { createSink } from "./sink.ts";
import { createTaskRuns, type PromptOutcome, type TaskRunOutcome } from "./task-run.ts";
import { isTriggered } from "./trigger.ts";

export type { PromptOutcome, TaskRunOutcome };

export interface OrchestratorDeps {
  config: Config;
  store: Store;
  events: EventBus;
  queue: GroupQueue;
  runner: AgentRunner;
  channels: Channel[];
  log: Logger;
  clock?: { now(): number };
  /** Entries for `current_tasks.json` (the scheduler's task service); default from the store. */
  tasksSnapshot?: TasksSnapshot;
  /** Waits between re-sends after a transient send failure (see createDelivery). */
  sendRetryDelaysMs?: readonly number[];
  /** plugins: the hooks to call on the message and agent path (default: none). */
  hooks?: PipelineHooks;
}

export interface Orchestrator {
  start(): Promise<void>;
  /** Kill running agents, stop the queue, disconnect channels. */
  stop(): Promise<void>;
  /** The sink a channel pushes into (one per channel, for status attribution). */
  sinkFor(channel: Channel): ChannelSink;
  /** Send through the owning channel with an idempotency key; stores the reply. */
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
  /** Running agents with what they run for. */
  containers(): {
    name: string;
    groupFolder: string;
    chatJid: string;
    startedAt: number;
    reason: "messages" | "task";
  }[];
}

const STALE_SESSION =
  /no conversation found|session[^\n]{0,40}(not found|does not exist|invalid|expired)|invalid session|unknown session/i;

/** Messages the agent should see: everything but the bot's own replies. */
const forAgent = (m: StoredMessage) => !m.isBot && !m.id.startsWith("out:");

export function createOrchestrator(deps: OrchestratorDeps): Orchestrator {
  const { config, store, events, queue, runner } = deps;
  const log = deps.log.withTag("orchestrator");
  const now = () => (deps.clock ?? Date).now();
  const channels = deps.channels;
  const live = new Map<string, Live>();
  const unsubscribe: (() => void)[] = [];
  /** Last seq handed to the latest message run per chat (what a give-up report covers). */
  const attempted = new Map<string, number>();
  let stopping = false;
  const hooks = deps.hooks ?? noopHooks;

  const deliver = createDelivery({
    store,
    events,
    channels: () => channels,
    assistantName: config.assistantName,
    retryDelaysMs: deps.sendRetryDelaysMs,
    log,
    now,
    hooks,
  });

  const typing = (jid: string, on: boolean) => {
    const ch = findChannel(channels, jid);
    ch?.setTyping?.(jid, on).catch(() => {});
  };

  const baseInput = (group: RegisteredGroup): Omit<ContainerInput, "prompt" | "chatJid"> => ({
    groupFolder: group.folder,
    isMain: group.isMain,
    assistantName: config.assistantName,
    model: config.anthropic.model,
    idleTimeoutMs: config.container.idleTimeoutMs,
  });

  const prepare = (group: RegisteredGroup) => {
    ensureGroupFolder(config.groupsDir, group);
    try {
      writeSnapshots(store, config.dataDir, group, deps.tasksSnapshot);
    } catch (err) {
      log.warn("writing ipc snapshots failed", { group: group.folder, error: errorMessage(err) });
      mkdirSync(config.dataDir, { recursive: true });
    }
  };

  /** Unprocessed messages of a chat after `afterSeq`: the agent's view and the last seq. */
  const unprocessed = (jid: string, afterSeq: number) => {
    const all = store.messages.since(jid, afterSeq, 500);
    const lastSeq = all.length ? all[all.length - 1]!.seq : afterSeq;
    return { msgs: all.filter(forAgent), lastSeq };
  };

  const anyTriggered = (group: RegisteredGroup, msgs: StoredMessage[]) =>
    msgs.some((m) => isTriggered(m, group, config));

  /** The thread of the newest triggering message (Slack thread, Telegram topic): replies go there. */
  const threadOf = (group: RegisteredGroup, msgs: StoredMessage[]): string | undefined => {
    for (let i = msgs.length - 1; i >= 0; i--) {
      const m = msgs[i]!;
      if (isTriggered(m, group, config)) return m.threadId ?? undefined;
    }
    return undefined;
  };

  // ---- message runs ----

  function enqueueMessages(jid: string): boolean {
    return queue.enqueue(jid, {
      kind: "messages",
      id: jid,
      run: () => runMessages(jid),
      onGiveUp: (err) => reportFailure(jid, err),
    } satisfies QueueJob);
  }

  async function reportFailure(jid: string, err: unknown): Promise<void> {
    const group = store.groups.get(jid);
    if (!group) return;
    // Only what the failing run was given; messages that came in meanwhile get their own run.
    const lastSeq = attempted.get(jid) ?? unprocessed(jid, store.groups.cursor(jid)).lastSeq;
    attempted.delete(jid);
    const text = `⚠️ ${config.assistantName} could not answer: ${errorMessage(err).slice(0, 500)}`;
    try {
      await deliver({ chatJid: jid, text, idemKey: `${group.folder}:${lastSeq}:error`, source: "agent" });
    } catch (e) {
      log.error("could not report a failed run to the chat", { group: group.folder, error: errorMessage(e) });
    }
    // Unblock the group: the failure is visible in the chat; the next message starts afresh.
    store.groups.setCursor(jid, lastSeq, now());
    recoverGroup(jid);
  }

  async function runMessages(jid: string): Promise<void> {
    if (stopping) return;
    const group = store.groups.get(jid);
    if (!group) return;
    const { msgs, lastSeq } = unprocessed(jid, store.groups.cursor(jid));
    if (msgs.length === 0 || !anyTriggered(group, msgs)) return;
    if (!findChannel(channels, jid)) {
      // No way to answer: keep the messages after the cursor for when the channel is back.
      log.warn("no enabled channel owns this group's chat; not running its agent", {
        group: group.folder,
        jid,
      });
      return;
    }
    attempted.set(jid, lastSeq);
    prepare(group);
    let sessionId = store.groups.session(group.folder) ?? undefined;
    // plugins: agent.starting may add context to or change the prompt.
    const { prompt } = await hooks.agentStarting({
      group: { folder: group.folder, jid, isMain: group.isMain },
      prompt: formatMessages(msgs),
      kind: "messages",
    });
    for (let attempt = 0; ; attempt++) {
      const res = await runOnce(group, prompt, lastSeq, sessionId, threadOf(group, msgs));
      if (res.ok) return;
      if (sessionId && res.answered === 0 && attempt === 0 && STALE_SESSION.test(res.error)) {
        log.warn("stale session, starting a fresh one", { group: group.folder, sessionId });
        store.groups.clearSession(group.folder);
        sessionId = undefined;
        continue;
      }
      throw new Error(res.error);
    }
  }

  async function runOnce(
    group: RegisteredGroup,
    prompt: string,
    lastSeq: number,
    sessionId: string | undefined,
    threadId: string | undefined,
  ): Promise<{ ok: true } | { ok: false; error: string; answered: number }> {
    const jid = group.jid;
    const st = newLive("messages", lastSeq, threadId);
    live.set(jid, st);
    let answered = 0;
    let failure: string | null = null;
    const onOutput = async (out: ContainerOutput) => {
      if (out.newSessionId) store.groups.setSession(group.folder, out.newSessionId, now());
      events.emit("agent.output", {
        groupFolder: group.folder,
        chatJid: jid,
        result: out.result,
        status: out.status,
      });
      const batch = st.pending[0] ?? st.lastAnswered ?? { lastSeq: st.sentSeq, outputs: 0 };
      // plugins: agent.result may change or suppress the result before delivery.
      const result = await hooks.agentResult({
        group: { folder: group.folder, jid },
        text: outboundText(out.result),
        status: out.status,
      });
      const text = result.action === "continue" ? result.text : null;
      if (result.action === "suppress")
        log.info("result suppressed by plugin", {
          group: group.folder,
          plugin: result.plugin,
          reason: result.reason,
        });
      if (text) {
        try {
          await deliver({
            source: "agent",
            chatJid: jid,
            text,
            idemKey: `${group.folder}:${batch.lastSeq}:${batch.outputs}`,
            options: batch.threadId ? { threadId: batch.threadId } : undefined,
          });
          batch.outputs++;
        } catch (err) {
          failure = errorMessage(err);
          st.accepting = false;
          st.proc?.close();
          return;
        }
      }
      if (out.status === "error") {
        failure = out.error ?? "the agent reported an error";
        st.accepting = false;
        st.proc?.close();
        return;
      }
      // The turn is answered and delivered: move the cursor past it.
      if (st.pending[0] === batch) st.pending.shift();
      st.lastAnswered = batch;
      answered++;
      store.groups.setCursor(jid, batch.lastSeq, now());
      if (st.pending.length === 0) {
        typing(jid, false);
        const proc = st.proc;
        if (proc) queue.markIdle(jid, () => proc.close());
      }
    };

    typing(jid, true);
    const started = now();
    let result: Awaited<AgentProcess["done"]>;
    try {
      const proc = await runner.start({
        group,
        input: { ...baseInput(group), prompt, chatJid: jid, sessionId },
        onOutput,
      });
      st.proc = proc;
      events.emit("agent.started", {
        groupFolder: group.folder,
        chatJid: jid,
        containerName: proc.name,
        reason: "messages",
      });
      if (st.wantFollowUp) followUp(jid);
      if (st.pending.length === 0) queue.markIdle(jid, () => proc.close());
      result = await proc.done;
    } catch (err) {
      result = { status: "error", error: errorMessage(err), exitCode: null, durationMs: 0, outputs: 0 };
    } finally {
      st.accepting = false;
      typing(jid, false);
    }
    await st.chain.catch(() => {});
    live.delete(jid);
    if (result.newSessionId) store.groups.setSession(group.folder, result.newSessionId, now());
    events.emit("agent.finished", {
      groupFolder: group.folder,
      chatJid: jid,
      containerName: st.proc?.name ?? "",
      durationMs: result.durationMs || now() - started,
      status: result.status,
      error: failure ?? result.error,
    });
    if (failure) return { ok: false, error: failure, answered };
    if (st.pending.length === 0) {
      // Everything handed over was answered; a late container error is not the chat's problem.
      if (result.status !== "success")
        log.debug("agent ended after answering", { group: group.folder, status: result.status });
      recoverGroup(jid);
      return { ok: true };
    }
    if (result.status === "success") {
      // It ended before reading the last follow-up (idle timeout race): run again from the cursor.
      enqueueMessages(jid);
      return { ok: true };
    }
    return {
      ok: false,
      error: result.error ?? `agent ${result.status} (exit ${result.exitCode ?? "?"})`,
      answered,
    };
  }

  /** Hand new messages to the group's warm agent (serialized per group). */
  function followUp(jid: string): void {
    const st = live.get(jid);
    if (!st) return;
    st.chain = st.chain.then(async () => {
      if (!st.accepting) {
        enqueueMessages(jid);
        return;
      }
      const proc = st.proc;
      if (!proc) {
        st.wantFollowUp = true;
        return;
      }
      st.wantFollowUp = false;
      const group = store.groups.get(jid);
      if (!group) return;
      const { msgs, lastSeq } = unprocessed(jid, st.sentSeq);
      if (msgs.length === 0 || !anyTriggered(group, msgs)) return;
      // The batch is pending before the agent can see it, so an answer that comes back at once
      // is attributed to it (not to the previous batch).
      const batch = { lastSeq, outputs: 0, threadId: threadOf(group, msgs) };
      st.pending.push(batch);
      // plugins: follow-up input goes through agent.starting too.
      const { prompt } = await hooks.agentStarting({
        group: { folder: group.folder, jid, isMain: group.isMain },
        prompt: formatMessages(msgs),
        kind: "messages",
      });
      const ok = await proc.sendFollowUp(prompt).catch((err) => {
        log.warn("follow-up failed", { group: group.folder, error: errorMessage(err) });
        return false;
      });
      if (!ok) {
        st.pending.splice(st.pending.indexOf(batch), 1);
        st.accepting = false;
        enqueueMessages(jid);
        return;
      }
      st.sentSeq = lastSeq;
      queue.markBusy(jid);
      typing(jid, true);
    });
  }

  function onStored(e: EventMap["message.stored"]): void {
    if (stopping || e.isFromMe) return;
    const group = store.groups.get(e.chatJid);
    if (!group) return;
    const st = live.get(e.chatJid);
    if (st?.mode === "messages" && st.accepting) {
      followUp(e.chatJid);
      return;
    }
    const triggered =
      isTriggered({ content: e.content, isFromMe: false }, group, config) ||
      (group.requiresTrigger && store.messages.get(e.seq)?.mentionsBot === true);
    if (triggered) enqueueMessages(e.chatJid);
  }

  function recoverGroup(jid: string): boolean {
    const group = store.groups.get(jid);
    if (!group) return false;
    const { msgs } = unprocessed(jid, store.groups.cursor(jid));
    if (msgs.length === 0 || !anyTriggered(group, msgs)) return false;
    return enqueueMessages(jid);
  }

  const tasks = createTaskRuns({
    store,
    events,
    queue,
    runner,
    deliver,
    now,
    live,
    prepare,
    baseInput,
    recoverGroup,
    hooks,
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
      let recovered = 0;
      for (const g of store.groups.list()) if (recoverGroup(g.jid)) recovered++;
      if (recovered > 0) log.info("re-queued groups with unprocessed messages", { groups: recovered });
    },
    async stop() {
      stopping = true;
      for (const u of unsubscribe.splice(0)) u();
      const procs = [...live.values()].map((s) => s.proc).filter((p): p is AgentProcess => p !== null);
      const stopped = queue.stop();
      await Promise.allSettled(procs.map((p) => p.kill("shutdown")));
      await stopped;
      await Promise.allSettled(channels.map((ch) => ch.disconnect()));
    },
    sinkFor,
    deliver,
    channels: () => channels,
    runTask: tasks.runTask,
    dispatchTask: tasks.dispatchTask,
    dispatchPrompt: tasks.dispatchPrompt,
    recoverGroup,
    async stopContainer(name) {
      for (const st of live.values()) {
        if (st.proc?.name === name) {
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
