/**
 * Message runs: a chat's open messages become inputs (one per thread, see batches.ts), the first
 * starts the group's container, the rest and any that arrive while it runs are handed over as
 * follow-ups. Each result names the inputs its turn consumed; for those, "messages answered" and
 * "reply saved" are one transaction (store.turns.commit), then the outbox sends the reply. So a
 * message is answered exactly once whatever crashes when: unanswered inputs run again, answered
 * ones never do, and a saved reply is re-sent from the outbox, not re-generated.
 */
import type { Config } from "../config/index.ts";
import type { AgentProcess, AgentRunner, AgentRunResult } from "../container/types.ts";
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import type { ContainerInput, RequestFrame, ResultFrame } from "../protocol/index.ts";
import { type GroupQueue, NoRetryError, type QueueJob, RetryLaterError } from "../queue/index.ts";
import type { NewReply, RegisteredGroup, Store } from "../store/index.ts";
import { errorMessage } from "../util/errors.ts";
import { type Batch, buildBatches, PENDING_WINDOW } from "./batches.ts";
import type { Delivery } from "./delivery.ts";
import type { PipelineHooks } from "./hooks.ts";
import { type Live, newLive } from "./live.ts";
import { replyText } from "./reply-text.ts";

const STALE_SESSION =
  /no conversation found|session[^\n]{0,40}(not found|does not exist|invalid|expired)|invalid session|unknown session/i;

/** The answer to an agent's IPC request, computed by the host with the group's identity. */
export type HandleRequest = (
  group: RegisteredGroup,
  frame: RequestFrame,
  ctx: { idemKey: string },
) => Promise<{ ok: boolean; text: string }>;

export interface MessageRunContext {
  config: Config;
  store: Store;
  events: EventBus;
  queue: GroupQueue;
  runner: AgentRunner;
  delivery: Delivery;
  hooks: PipelineHooks;
  log: Logger;
  now: () => number;
  live: Map<string, Live>;
  channelFor(jid: string): boolean;
  typing(jid: string, on: boolean): void;
  prepare(group: RegisteredGroup): void;
  baseInput(group: RegisteredGroup): Omit<ContainerInput, "prompt" | "chatJid" | "inputId">;
  handleRequest: HandleRequest;
  /** The engine went away during a run: watch for it to come back. */
  engineDown(error: string): void;
}

type RunOutcome =
  | { ok: true }
  | { ok: false; error: string; kind: AgentRunResult["failure"]; answered: number; noRetry?: boolean };

export function createMessageRuns(ctx: MessageRunContext) {
  const { config, store, events, queue, runner, delivery, hooks, live, now } = ctx;
  const log = ctx.log;
  /** Inputs of the last failed run per chat: what a give-up report covers. */
  const failedInputs = new Map<string, Batch[]>();

  /** The chat's open messages; under a flood, the ones before the window are skipped for good. */
  const open = (jid: string) => {
    const msgs = store.turns.pending(jid, PENDING_WINDOW);
    if (msgs.length === PENDING_WINDOW) {
      try {
        const n = store.turns.skipBefore(jid, msgs[0]!.seq, PENDING_WINDOW, now());
        if (n > 0) log.info("older unanswered messages fell out of the window", { chatJid: jid, skipped: n });
      } catch (err) {
        log.warn("could not skip old messages", { chatJid: jid, error: errorMessage(err) });
      }
    }
    return msgs;
  };

  /** Save with retries: a busy or full disk must not lose an answer (bounded: ~30 s). */
  async function commit(t: Parameters<Store["turns"]["commit"]>[0]) {
    for (let attempt = 0; ; attempt++) {
      try {
        return store.turns.commit(t);
      } catch (err) {
        if (attempt >= 6) throw err;
        log.warn("saving an answer failed, retrying", {
          chatJid: t.chatJid,
          attempt: attempt + 1,
          error: errorMessage(err),
        });
        await Bun.sleep(250 * 2 ** attempt);
      }
    }
  }

  function enqueueMessages(jid: string): boolean {
    return queue.enqueue(jid, {
      kind: "messages",
      id: jid,
      run: () => runMessages(jid),
      onGiveUp: (err) => giveUp(jid, err),
    } satisfies QueueJob);
  }

  /** Tell the chat a run failed for good, and count its messages as answered (by the error). */
  async function giveUp(jid: string, err: unknown): Promise<void> {
    const group = store.groups.get(jid);
    const batches = failedInputs.get(jid) ?? [];
    failedInputs.delete(jid);
    if (!group) return;
    const text = `⚠️ ${config.assistantName} could not answer: ${errorMessage(err).slice(0, 500)}`;
    const first = batches[0];
    const seqs = batches.flatMap((b) => b.seqs);
    try {
      const rows = await commit({
        chatJid: jid,
        seqs,
        replies: [
          {
            key: `error:${jid}:${first?.id ?? `${now()}`}`,
            chatJid: jid,
            text,
            threadId: first?.threadId,
            replyToId: first?.replyToId,
            source: "system",
          },
        ],
        window: PENDING_WINDOW,
        now: now(),
      });
      void delivery.enqueue(rows);
    } catch (e) {
      log.error("could not record a failed run", { group: group.folder, error: errorMessage(e) });
    }
    recoverGroup(jid);
  }

  async function runMessages(jid: string): Promise<void> {
    const group = store.groups.get(jid);
    if (!group) return;
    const batches = buildBatches(group, open(jid), config);
    if (batches.length === 0) return;
    if (!ctx.channelFor(jid)) {
      // No way to answer: keep the messages open for when the channel is back.
      log.warn("no enabled channel owns this group's chat; not running its agent", {
        group: group.folder,
        jid,
      });
      return;
    }
    try {
      ctx.prepare(group);
    } catch (err) {
      // A full folder is the group's own problem: tell the chat now, no retries.
      failedInputs.set(jid, batches);
      throw new NoRetryError(errorMessage(err));
    }
    let sessionId = store.groups.session(group.folder) ?? undefined;
    for (let attempt = 0; ; attempt++) {
      const res = await runOnce(
        group,
        attempt === 0 ? batches : buildBatches(group, open(jid), config),
        sessionId,
      );
      if (res.ok) return;
      if (sessionId && res.answered === 0 && attempt === 0 && STALE_SESSION.test(res.error)) {
        log.warn("stale session, starting a fresh one", { group: group.folder, sessionId });
        store.groups.clearSession(group.folder);
        sessionId = undefined;
        continue;
      }
      if (res.kind === "engine") {
        ctx.engineDown(res.error);
        throw new RetryLaterError(res.error);
      }
      if (res.noRetry || res.kind === "timeout" || res.kind === "stalled") throw new NoRetryError(res.error);
      throw new Error(res.error);
    }
  }

  async function runOnce(
    group: RegisteredGroup,
    batches: Batch[],
    sessionId: string | undefined,
  ): Promise<RunOutcome> {
    const jid = group.jid;
    const st = newLive("messages");
    live.set(jid, st);
    let answered = 0;
    const first = batches[0]!;
    for (const b of batches) {
      st.inputs.set(b.id, b);
      for (const s of b.seqs) st.handed.add(s);
    }

    const onResult = async (frame: ResultFrame) => {
      if (frame.newSessionId) store.groups.setSession(group.folder, frame.newSessionId, now());
      events.emit("agent.output", {
        groupFolder: group.folder,
        chatJid: jid,
        result: frame.result,
        status: frame.status,
      });
      const consumed: Batch[] = [];
      for (const id of new Set(frame.consumed)) {
        const b = st.inputs.get(id);
        if (b) {
          consumed.push(b);
          st.inputs.delete(id);
        } else
          log.warn("agent reported an input it was not given (or twice); ignored", {
            group: group.folder,
            id,
          });
      }
      if (frame.status === "error") {
        st.failed.push(...consumed);
        st.failure ??= frame.error ?? "the agent reported an error";
        st.accepting = false;
        st.proc?.close();
        return;
      }
      let text = replyText(frame.result);
      const r = await hooks.agentResult({ group: { folder: group.folder, jid }, text, status: frame.status });
      if (r.action === "suppress") {
        log.info("result suppressed by a plugin", {
          group: group.folder,
          plugin: r.plugin,
          reason: r.reason,
        });
        text = null;
      } else text = r.text;
      const head = consumed[0];
      const replies: NewReply[] = [];
      if (text) {
        const replyTo = [...consumed].reverse().find((b) => b.replyToId)?.replyToId;
        replies.push({
          key: head ? `reply:${jid}:${head.id}` : `reply:${jid}:${st.runId}:${st.systemTurns++}`,
          chatJid: jid,
          text,
          threadId: head?.threadId,
          replyToId: replyTo,
          source: "agent",
        });
      }
      let sending: Promise<void>;
      try {
        const rows = await commit({
          chatJid: jid,
          seqs: consumed.flatMap((b) => b.seqs),
          replies,
          window: PENDING_WINDOW,
          now: now(),
        });
        sending = delivery.enqueue(rows);
        answered += consumed.length;
      } catch (err) {
        // Not saved: nothing was sent either. Give the inputs back and end the run; they run again.
        for (const b of consumed) st.inputs.set(b.id, b);
        st.failure ??= `could not save the answer: ${errorMessage(err)}`;
        st.accepting = false;
        st.proc?.close();
        return;
      }
      if (st.inputs.size === 0) {
        const proc = st.proc;
        if (proc) queue.markIdle(jid, () => proc.close());
        // "Typing" ends once the answer is out (a client may wait for both), unless new input came.
        void sending.finally(() => {
          if (st.inputs.size === 0) ctx.typing(jid, false);
        });
      }
    };

    const onRequest = (frame: RequestFrame) => {
      // A key stable across re-runs of the same turn: the turn's first input + the n-th send.
      const head = frame.turn?.[0];
      const turn = head && st.inputs.has(head) ? head : st.runId;
      const n = st.ipcSends.get(turn) ?? 0;
      if (frame.request.type === "message") st.ipcSends.set(turn, n + 1);
      return ctx.handleRequest(group, frame, { idemKey: `ipc:${group.folder}:${turn}:${n}:${frame.reqId}` });
    };

    ctx.typing(jid, true);
    const started = now();
    let result: AgentRunResult;
    try {
      const prompt = (
        await hooks.agentStarting({
          group: { folder: group.folder, jid, isMain: group.isMain },
          prompt: first.text,
          kind: "messages",
        })
      ).prompt;
      const proc = await runner.start({
        group,
        input: {
          ...ctx.baseInput(group),
          prompt,
          inputId: first.id,
          ...(first.thread ? { thread: first.thread } : {}),
          chatJid: jid,
          sessionId,
        },
        onResult,
        onRequest,
        onActivity: (a) =>
          events.emit("agent.activity", {
            groupFolder: group.folder,
            chatJid: jid,
            kind: a.kind,
            ...(a.name ? { name: a.name } : {}),
          }),
      });
      st.proc = proc;
      events.emit("agent.started", {
        groupFolder: group.folder,
        chatJid: jid,
        containerName: proc.name,
        reason: "messages",
      });
      for (const b of batches.slice(1)) await handOver(group, st, proc, b);
      if (st.wantFollowUp) followUp(jid);
      result = await proc.done;
    } catch (err) {
      result = {
        status: "error",
        failure: "agent",
        error: errorMessage(err),
        exitCode: null,
        durationMs: 0,
        outputs: 0,
      };
    } finally {
      st.accepting = false;
      ctx.typing(jid, false);
    }
    await st.chain.catch(() => {});
    live.delete(jid);
    if (result.newSessionId) store.groups.setSession(group.folder, result.newSessionId, now());
    const error = st.noRetry ?? st.failure ?? result.error;
    events.emit("agent.finished", {
      groupFolder: group.folder,
      chatJid: jid,
      containerName: st.proc?.name ?? "",
      durationMs: result.durationMs || now() - started,
      status: result.status,
      error: st.inputs.size > 0 || st.failed.length > 0 ? error : undefined,
    });
    const unanswered = [...st.failed, ...st.inputs.values()];
    if (unanswered.length === 0) {
      // Everything handed over was answered; a late container error is not the chat's problem.
      if (result.status !== "success")
        log.debug("agent ended after answering", { group: group.folder, status: result.status });
      failedInputs.delete(jid);
      recoverGroup(jid);
      return { ok: true };
    }
    if (result.status === "success" && !st.failure) {
      // It ended before answering the last inputs (idle race): they run again from the store.
      enqueueMessages(jid);
      return { ok: true };
    }
    failedInputs.set(jid, unanswered);
    return {
      ok: false,
      error: error ?? `agent ${result.status} (exit ${result.exitCode ?? "?"})`,
      kind: st.failure ? "agent" : result.failure,
      answered,
      ...(st.noRetry ? { noRetry: true } : {}),
    };
  }

  async function handOver(group: RegisteredGroup, st: Live, proc: AgentProcess, b: Batch): Promise<boolean> {
    st.inputs.set(b.id, b);
    for (const s of b.seqs) st.handed.add(s);
    const text = (
      await hooks.agentStarting({
        group: { folder: group.folder, jid: group.jid, isMain: group.isMain },
        prompt: b.text,
        kind: "messages",
      })
    ).prompt;
    if (proc.sendInput({ id: b.id, text, ...(b.thread ? { thread: b.thread } : {}) })) return true;
    st.inputs.delete(b.id);
    for (const s of b.seqs) st.handed.delete(s);
    return false;
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
      const batches = buildBatches(group, open(jid), config, st.handed);
      if (batches.length === 0) return;
      for (const b of batches) {
        if (!(await handOver(group, st, proc, b))) {
          st.accepting = false;
          enqueueMessages(jid);
          return;
        }
      }
      queue.markBusy(jid);
      ctx.typing(jid, true);
    });
  }

  function recoverGroup(jid: string): boolean {
    const group = store.groups.get(jid);
    if (!group) return false;
    if (buildBatches(group, open(jid), config).length === 0) return false;
    return enqueueMessages(jid);
  }

  /** The proxy saw the key refused (or none configured): stop the group's run, don't retry. */
  function stopForAuth(groupFolder: string, detail: string): void {
    for (const st of live.values()) {
      if (st.proc?.groupFolder !== groupFolder) continue;
      st.noRetry ??= detail;
      st.accepting = false;
      void st.proc.kill(detail, "stopped");
    }
  }

  return { runMessages, followUp, recoverGroup, enqueueMessages, stopForAuth };
}
