/**
 * Scheduled task runs: the task's prompt in its group's container (`group` context resumes and
 * keeps the group's session, `isolated` runs fresh and saves nothing), each result delivered to
 * the task's chat through the outbox with a key per scheduled run, one turn per run.
 * `dispatchTask` queues the run in the group queue (tasks go before messages), which is what the
 * scheduler calls. A run the engine could not start waits for the engine like message runs.
 */
import type { AgentProcess, AgentRunner } from "../container/types.ts";
import type { EventBus } from "../events/index.ts";
import type { ContainerInput } from "../protocol/index.ts";
import { type GroupQueue, RetryLaterError } from "../queue/index.ts";
import type { RegisteredGroup, ScheduledTask, Store } from "../store/index.ts";
import { errorMessage } from "../util/errors.ts";
import type { Deliver } from "./delivery.ts";
import type { PipelineHooks } from "./hooks.ts";
import { type Live, newLive } from "./live.ts";
import type { HandleRequest } from "./message-run.ts";
import { replyText } from "./reply-text.ts";

export interface TaskRunOutcome {
  status: "success" | "error";
  result: string | null;
  error?: string;
}

export interface PromptOutcome {
  status: "success" | "error";
  results: string[];
  error?: string;
}

export interface TaskRunContext {
  store: Store;
  events: EventBus;
  queue: GroupQueue;
  runner: AgentRunner;
  deliver: Deliver;
  hooks: PipelineHooks;
  now: () => number;
  live: Map<string, Live>;
  prepare(group: RegisteredGroup): void;
  baseInput(group: RegisteredGroup): Omit<ContainerInput, "prompt" | "chatJid" | "inputId">;
  /** Queue a message run for messages that arrived meanwhile. */
  recoverGroup(jid: string): boolean;
  handleRequest: HandleRequest;
  engineDown(error: string): void;
}

export function createTaskRuns(ctx: TaskRunContext) {
  const { store, events, queue, runner, deliver, hooks, now, live, prepare, baseInput, recoverGroup } = ctx;
  const inflightTasks = new Map<string, Promise<TaskRunOutcome>>();

  /**
   * One turn in the group's container: the prompt in, each result text to `onText`, then the
   * container is let go. `keepSession` resumes and saves the group's session; otherwise the turn
   * runs fresh and saves nothing. Returns the error, if any.
   */
  async function runTurn(
    group: RegisteredGroup,
    turn: {
      prompt: string;
      chatJid: string;
      keepSession: boolean;
      /** Input id (stable per scheduled run). */
      inputId: string;
      taskId?: string;
      kind: "task" | "prompt";
      onText: (text: string) => Promise<void>;
    },
  ): Promise<{ error?: string; engineDown?: boolean }> {
    try {
      prepare(group);
    } catch (err) {
      return { error: errorMessage(err) };
    }
    const { chatJid, keepSession } = turn;
    const sessionId = keepSession ? (store.groups.session(group.folder) ?? undefined) : undefined;
    let error: string | undefined;
    let engineDown = false;
    let proc: AgentProcess | null = null;
    let finished = false;
    const st = newLive("task");
    live.set(group.jid, st);
    try {
      const prompt = (
        await hooks.agentStarting({
          group: { folder: group.folder, jid: group.jid, isMain: group.isMain },
          prompt: turn.prompt,
          kind: turn.kind,
        })
      ).prompt;
      proc = await runner.start({
        group,
        input: {
          ...baseInput(group),
          prompt,
          inputId: turn.inputId,
          chatJid,
          sessionId,
          ...(turn.taskId ? { isScheduledTask: true, taskId: turn.taskId } : {}),
        },
        onResult: async (out) => {
          if (keepSession && out.newSessionId) store.groups.setSession(group.folder, out.newSessionId, now());
          events.emit("agent.output", {
            groupFolder: group.folder,
            chatJid,
            result: out.result,
            status: out.status,
          });
          let text = replyText(out.result);
          const r = await hooks.agentResult({
            group: { folder: group.folder, jid: group.jid },
            text,
            status: out.status,
          });
          text = r.action === "suppress" ? null : r.text;
          if (text) {
            try {
              await turn.onText(text);
            } catch (err) {
              error = errorMessage(err);
            }
          }
          if (out.status === "error") error = out.error ?? "the agent reported an error";
          // One turn is the whole run: let the container go.
          if (out.consumed.includes(turn.inputId)) {
            finished = true;
            proc?.close();
          }
        },
        onRequest: (frame) =>
          ctx.handleRequest(group, frame, { idemKey: `ipc:${group.folder}:${turn.inputId}:${frame.reqId}` }),
        onActivity: (a) =>
          events.emit("agent.activity", {
            groupFolder: group.folder,
            chatJid,
            kind: a.kind,
            ...(a.name ? { name: a.name } : {}),
          }),
      });
      st.proc = proc;
      if (finished) proc.close();
      events.emit("agent.started", {
        groupFolder: group.folder,
        chatJid,
        containerName: proc.name,
        reason: "task",
      });
      const res = await proc.done;
      if (keepSession && res.newSessionId) store.groups.setSession(group.folder, res.newSessionId, now());
      if (res.status !== "success" && !finished) {
        error ??= st.noRetry ?? res.error ?? `agent ${res.status}`;
        if (res.failure === "engine") engineDown = true;
      }
      events.emit("agent.finished", {
        groupFolder: group.folder,
        chatJid,
        containerName: proc.name,
        durationMs: res.durationMs,
        status: res.status,
        error,
      });
    } catch (err) {
      error = errorMessage(err);
    } finally {
      if (live.get(group.jid) === st) live.delete(group.jid);
    }
    // Messages that arrived during the run.
    recoverGroup(group.jid);
    return { ...(error ? { error } : {}), ...(engineDown ? { engineDown } : {}) };
  }

  async function runTaskTurn(
    task: ScheduledTask,
    scheduledFor: number,
  ): Promise<TaskRunOutcome & { engineDown?: boolean }> {
    const group = store.groups.byFolder(task.groupFolder);
    if (!group)
      return { status: "error", result: null, error: `group "${task.groupFolder}" is not registered` };
    const chatJid = task.chatJid || group.jid;
    const results: string[] = [];
    let index = 0;
    const { error, engineDown } = await runTurn(group, {
      prompt: task.prompt,
      chatJid,
      keepSession: task.contextMode !== "isolated",
      inputId: `task:${task.id}:${scheduledFor}`,
      taskId: task.id,
      kind: "task",
      onText: async (text) => {
        await deliver({
          chatJid,
          text,
          idemKey: `task:${task.id}:${scheduledFor}:${index++}`,
          source: "task",
        });
        results.push(text);
      },
    });
    const result = results.length ? results.join("\n\n") : null;
    if (!error) return { status: "success", result };
    return { status: "error", result, error, ...(engineDown ? { engineDown } : {}) };
  }

  async function runTask(task: ScheduledTask, scheduledFor: number): Promise<TaskRunOutcome> {
    const { engineDown: _, ...outcome } = await runTaskTurn(task, scheduledFor);
    return outcome;
  }

  /**
   * A one-off prompt in a group's container (`ngb run` against a running serve): queued like a
   * task (one agent per group), results returned to the caller, nothing sent to the chat.
   */
  function dispatchPrompt(
    group: RegisteredGroup,
    prompt: string,
    opts: { resume?: boolean } = {},
  ): Promise<PromptOutcome> {
    return new Promise<PromptOutcome>((resolve) => {
      const results: string[] = [];
      const id = `prompt:${now()}:${Math.random().toString(36).slice(2, 8)}`;
      const accepted = queue.enqueue(group.jid, {
        kind: "task",
        id,
        run: async () => {
          const { error, engineDown } = await runTurn(group, {
            prompt,
            chatJid: group.jid,
            keepSession: opts.resume === true,
            inputId: id,
            kind: "prompt",
            onText: async (text) => void results.push(text),
          });
          if (engineDown && error) {
            ctx.engineDown(error);
            throw new RetryLaterError(error);
          }
          resolve(error ? { status: "error", results, error } : { status: "success", results });
        },
        onGiveUp: (err) => resolve({ status: "error", results, error: errorMessage(err) }),
      });
      if (!accepted) resolve({ status: "error", results, error: "the queue is stopping" });
    });
  }

  function dispatchTask(task: ScheduledTask, scheduledFor: number): Promise<TaskRunOutcome> {
    const key = `${task.id}:${scheduledFor}`;
    const existing = inflightTasks.get(key);
    if (existing) return existing;
    const group = store.groups.byFolder(task.groupFolder);
    if (!group)
      return Promise.resolve({
        status: "error",
        result: null,
        error: `group "${task.groupFolder}" is not registered`,
      });
    const p = new Promise<TaskRunOutcome>((resolve) => {
      const accepted = queue.enqueue(group.jid, {
        kind: "task",
        id: key,
        run: async () => {
          const { engineDown, ...outcome } = await runTaskTurn(task, scheduledFor);
          if (engineDown && outcome.error) {
            // The engine, not the task, failed: the run waits for it (it is not lost or skipped).
            ctx.engineDown(outcome.error);
            throw new RetryLaterError(outcome.error);
          }
          resolve(outcome);
        },
        onGiveUp: (err) => resolve({ status: "error", result: null, error: errorMessage(err) }),
      });
      if (!accepted) resolve({ status: "error", result: null, error: "the queue is stopping" });
    }).finally(() => inflightTasks.delete(key));
    inflightTasks.set(key, p);
    return p;
  }

  return { runTask, dispatchTask, dispatchPrompt };
}
