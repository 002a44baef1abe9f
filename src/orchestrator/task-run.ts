/**
 * Scheduled task runs: the task's prompt in its group's container (`group` context resumes and
 * keeps the group's session, `isolated` runs fresh and saves nothing), each result delivered to
 * the task's chat with an idempotency key per scheduled run, one turn per run. `dispatchTask`
 * queues the run in the group queue (tasks go before messages), which is what the scheduler calls.
 */
import type { AgentProcess, AgentRunner } from "../container/types.ts";
import type { EventBus } from "../events/index.ts";
import type { ContainerInput } from "../protocol/index.ts";
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
}

export function createTaskRuns(ctx: TaskRunContext) {
  const { store, events, queue, runner, deliver, now, live, prepare, baseInput, recoverGroup } = ctx;
  const inflightTasks = new Map<string, Promise<TaskRunOutcome>>();

  async function runTask(task: ScheduledTask, scheduledFor: number): Promise<TaskRunOutcome> {
    const group = store.groups.byFolder(task.groupFolder);
    if (!group)
      return { status: "error", result: null, error: `group "${task.groupFolder}" is not registered` };
    prepare(group);
    const isolated = task.contextMode === "isolated";
    const sessionId = isolated ? undefined : (store.groups.session(group.folder) ?? undefined);
    const chatJid = task.chatJid || group.jid;
    const results: string[] = [];
    let error: string | undefined;
    let proc: AgentProcess | null = null;
    let finished = false;
    let index = 0;
    const st = newLive("task");
    live.set(group.jid, st);
    try {
      proc = await runner.start({
        group,
        input: {
          ...baseInput(group),
          prompt: task.prompt,
          chatJid,
          sessionId,
          isScheduledTask: true,
          taskId: task.id,
        },
        onOutput: async (out) => {
          if (!isolated && out.newSessionId) store.groups.setSession(group.folder, out.newSessionId, now());
          events.emit("agent.output", {
            groupFolder: group.folder,
            chatJid,
            result: out.result,
            status: out.status,
          });
          const text = outboundText(out.result);
          if (text) {
            try {
              await deliver({ chatJid, text, idemKey: `task:${task.id}:${scheduledFor}:${index++}` });
              results.push(text);
            } catch (err) {
              error = errorMessage(err);
            }
          }
          if (out.status === "error") error = out.error ?? "the agent reported an error";
          // One turn is the whole task: let the container go.
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
      if (!isolated && res.newSessionId) store.groups.setSession(group.folder, res.newSessionId, now());
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
    // Messages that arrived during the task run.
    recoverGroup(group.jid);
    const result = results.length ? results.join("\n\n") : null;
    return error ? { status: "error", result, error } : { status: "success", result };
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

  return { runTask, dispatchTask };
}
