/**
 * Scheduled task runs: the task's prompt in its group's container (`group` context resumes and
 * keeps the group's session, `isolated` runs fresh and saves nothing), each result delivered to
 * the task's chat with an idempotency key per scheduled run, one turn per run. `dispatchTask`
 * queues the run in the group queue (tasks go before messages), which is what the scheduler calls.
 */
import type { AgentProcess, AgentRunner } from "../container/types.ts";
import type { EventBus } from "../events/index.ts";
import type { ContainerInput } from "../protocol/index.ts";
import { noopHooks, type PipelineHooks } from "../plugins/index.ts";
import type { GroupQueue } from "../queue/index.ts";
import { outboundText } from "../router/index.ts";
import type { RegisteredGroup, ScheduledTask, Store } from "../store/index.ts";
import { errorMessage } from "../util/errors.ts";
import type { Deliver } from "./delivery.ts";
import { type Live, newLive } from "./live.ts";

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
  now: () => number;
  live: Map<string, Live>;
  prepare(group: RegisteredGroup): void;
  baseInput(group: RegisteredGroup): Omit<ContainerInput, "prompt" | "chatJid">;
  /** Queue a message run for messages that arrived meanwhile. */
  recoverGroup(jid: string): boolean;
  /** plugins: agent.starting / agent.result (default: none). */
  hooks?: PipelineHooks;
}

export function createTaskRuns(ctx: TaskRunContext) {
  const { store, events, queue, runner, deliver, now, live, prepare, baseInput, recoverGroup } = ctx;
  const inflightTasks = new Map<string, Promise<TaskRunOutcome>>();
  const hooks = ctx.hooks ?? noopHooks;

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
      taskId?: string;
      kind: "task" | "prompt";
      onText: (text: string) => Promise<void>;
    },
  ): Promise<string | undefined> {
    prepare(group);
    const { chatJid, keepSession } = turn;
    // plugins: agent.starting may add context to or change the prompt.
    const { prompt } = await hooks.agentStarting({
      group: { folder: group.folder, jid: group.jid, isMain: group.isMain },
      prompt: turn.prompt,
      kind: turn.kind,
    });
    const sessionId = keepSession ? (store.groups.session(group.folder) ?? undefined) : undefined;
    let error: string | undefined;
    let proc: AgentProcess | null = null;
    let finished = false;
    const st = newLive("task");
    live.set(group.jid, st);
    try {
      proc = await runner.start({
        group,
        input: {
          ...baseInput(group),
          prompt,
          chatJid,
          sessionId,
          ...(turn.taskId ? { isScheduledTask: true, taskId: turn.taskId } : {}),
        },
        onOutput: async (out) => {
          if (keepSession && out.newSessionId) store.groups.setSession(group.folder, out.newSessionId, now());
          events.emit("agent.output", {
            groupFolder: group.folder,
            chatJid,
            result: out.result,
            status: out.status,
          });
          // plugins: agent.result may change or suppress the result.
          const res = await hooks.agentResult({
            group: { folder: group.folder, jid: group.jid },
            text: outboundText(out.result),
            status: out.status,
          });
          const text = res.action === "continue" ? res.text : null;
          if (text) {
            try {
              await turn.onText(text);
            } catch (err) {
              error = errorMessage(err);
            }
          }
          if (out.status === "error") error = out.error ?? "the agent reported an error";
          // One turn is the whole run: let the container go.
          finished = true;
          proc?.close();
        },
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
      if (res.status !== "success" && !finished) error ??= res.error ?? `agent ${res.status}`;
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
    return error;
  }

  async function runTask(task: ScheduledTask, scheduledFor: number): Promise<TaskRunOutcome> {
    const group = store.groups.byFolder(task.groupFolder);
    if (!group)
      return { status: "error", result: null, error: `group "${task.groupFolder}" is not registered` };
    const chatJid = task.chatJid || group.jid;
    const results: string[] = [];
    let index = 0;
    const error = await runTurn(group, {
      prompt: task.prompt,
      chatJid,
      keepSession: task.contextMode !== "isolated",
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
    return error ? { status: "error", result, error } : { status: "success", result };
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
      const accepted = queue.enqueue(group.jid, {
        kind: "task",
        id: `prompt:${now()}:${Math.random().toString(36).slice(2, 8)}`,
        run: async () => {
          const error = await runTurn(group, {
            prompt,
            chatJid: group.jid,
            keepSession: opts.resume === true,
            kind: "prompt",
            onText: async (text) => void results.push(text),
          });
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
        run: async () => resolve(await runTask(task, scheduledFor)),
        onGiveUp: (err) => resolve({ status: "error", result: null, error: errorMessage(err) }),
      });
      if (!accepted) resolve({ status: "error", result: null, error: "the queue is stopping" });
    }).finally(() => inflightTasks.delete(key));
    inflightTasks.set(key, p);
    return p;
  }

  return { runTask, dispatchTask, dispatchPrompt };
}
