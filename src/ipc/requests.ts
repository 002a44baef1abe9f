/**
 * The agents' IPC requests (protocol v2 `request` frames, from their `ngb` MCP tools): validated
 * by the protocol schema on the way in, authorized with the identity of the container they came
 * from (never the payload), rate-limited per group, acted on, and answered with a text the model
 * reads. The authorization matrix: the main group may message any chat, manage any task and
 * register groups; any other group only its own chat and its own tasks. A refusal is one log line
 * naming the group and the rule, an `ipc.rejected` event, and the reason in the tool's answer.
 */
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import type { Deliver, HandleRequest } from "../orchestrator/index.ts";
import type { IpcRequest } from "../protocol/index.ts";
import type { RegisteredGroup, Store } from "../store/index.ts";
import { errorMessage } from "../util/errors.ts";
import { patternProblem } from "../util/safe-regex.ts";

/** The slice of the scheduler's task service the handler uses. */
export interface IpcTaskOps {
  create(input: Record<string, unknown>, actor: IpcActor): { id: string };
  pause(id: string, actor: IpcActor): unknown;
  resume(id: string, actor: IpcActor): unknown;
  cancel(id: string, actor: IpcActor): unknown;
  /** The tasks an agent may see (its group's; all for main), bounded. */
  listForAgent(groupFolder: string, isMain: boolean): unknown;
}

export interface IpcActor {
  kind: "group";
  groupFolder: string;
  isMain: boolean;
}

export interface IpcHandlerOptions {
  store: Store;
  events: EventBus;
  log: Logger;
  deliver: Deliver;
  tasks: IpcTaskOps;
  /** Register a group (validation, store row, folder, event). Throws on a clash or bad input. */
  registerGroup(g: Omit<RegisteredGroup, "addedAt" | "containerConfig" | "isMain">): RegisteredGroup;
  limits?: { requestsPerMinute?: number; messagesPerMinute?: number };
  now?: () => number;
}

export class IpcRejectedError extends Error {
  override name = "IpcRejectedError";
}

/** Largest answer text (a task or group list) handed back to the model. */
const MAX_ANSWER_CHARS = 64_000;
const RESERVED_FOLDERS = new Set(["global", "errors", "logs", "ipc", "sessions"]);

/** A fixed one-minute window counter per key (bounded: keys are group folders). */
function createRate(limit: number, now: () => number) {
  const windows = new Map<string, { start: number; n: number }>();
  return (key: string): boolean => {
    const t = now();
    const w = windows.get(key);
    if (!w || t - w.start >= 60_000) {
      if (windows.size > 10_000) windows.clear();
      windows.set(key, { start: t, n: 1 });
      return true;
    }
    return ++w.n <= limit;
  };
}

function bounded(data: unknown): string {
  const text = JSON.stringify(data, null, 1);
  return text.length <= MAX_ANSWER_CHARS ? text : `${text.slice(0, MAX_ANSWER_CHARS)}\n… (truncated)`;
}

export function createIpcHandler(options: IpcHandlerOptions): HandleRequest {
  const { store, events, deliver, tasks } = options;
  const log = options.log.withTag("ipc");
  const now = options.now ?? Date.now;
  const requestRate = createRate(options.limits?.requestsPerMinute ?? 120, now);
  const messageRate = createRate(options.limits?.messagesPerMinute ?? 30, now);

  async function act(group: RegisteredGroup, req: IpcRequest, idemKey: string): Promise<string> {
    const actor: IpcActor = { kind: "group", groupFolder: group.folder, isMain: group.isMain };
    switch (req.type) {
      case "message": {
        if (!group.isMain && req.chatJid !== group.jid)
          throw new IpcRejectedError(
            `group "${group.folder}" may only message its own chat (${group.jid}), not ${req.chatJid}`,
          );
        if (!messageRate(group.folder))
          throw new IpcRejectedError(`group "${group.folder}" sent too many messages this minute; try later`);
        const out = await deliver({ chatJid: req.chatJid, text: req.text, idemKey, source: "ipc" });
        if (out.status === "queued")
          return `Message to ${req.chatJid} queued: the platform did not take it yet; it will be retried.`;
        if (out.status === "cancelled")
          return `Message to ${req.chatJid} was not sent (a plugin cancelled it).`;
        return `Message to ${req.chatJid} ${out.status === "duplicate" ? "was already sent" : "sent"}.`;
      }
      case "schedule_task": {
        if (!group.isMain && req.targetJid !== undefined && req.targetJid !== group.jid)
          throw new IpcRejectedError(`group "${group.folder}" may only send task results to its own chat`);
        const task = tasks.create(
          {
            prompt: req.prompt,
            scheduleType: req.scheduleType,
            scheduleValue: req.scheduleValue,
            contextMode: req.contextMode,
            timezone: req.timezone,
            catchUp: req.catchUp,
            targetJid: req.targetJid,
          },
          actor,
        );
        return `Task ${task.id} scheduled (${req.scheduleType} ${req.scheduleValue}).`;
      }
      case "pause_task":
        tasks.pause(req.taskId, actor);
        return `Task ${req.taskId} paused.`;
      case "resume_task":
        tasks.resume(req.taskId, actor);
        return `Task ${req.taskId} resumed.`;
      case "cancel_task":
        tasks.cancel(req.taskId, actor);
        return `Task ${req.taskId} cancelled.`;
      case "list_tasks":
        return bounded(tasks.listForAgent(group.folder, group.isMain));
      case "list_groups": {
        if (!group.isMain)
          throw new IpcRejectedError(`group "${group.folder}" is not the main group and may not list groups`);
        const groups = store.groups.list();
        const registered = new Set(groups.map((g) => g.jid));
        return bounded({
          groups: groups.map((g) => ({ jid: g.jid, name: g.name, folder: g.folder, isMain: g.isMain })),
          discovered: store.messages
            .chats()
            .filter((c) => !registered.has(c.jid))
            .slice(0, 500)
            .map((c) => ({ jid: c.jid, name: c.name, channel: c.channel })),
        });
      }
      case "register_group": {
        if (!group.isMain)
          throw new IpcRejectedError(
            `group "${group.folder}" is not the main group and may not register groups`,
          );
        if (RESERVED_FOLDERS.has(req.folder))
          throw new IpcRejectedError(`folder "${req.folder}" is reserved`);
        const problem = req.trigger ? patternProblem(req.trigger) : null;
        if (problem) throw new IpcRejectedError(`trigger refused: ${problem}`);
        const g = options.registerGroup({
          jid: req.jid,
          name: req.name,
          folder: req.folder,
          triggerPattern: req.trigger || null,
          requiresTrigger: req.requiresTrigger ?? true,
        });
        return `Group ${g.jid} registered as ${g.folder}.`;
      }
    }
  }

  return async (group, frame, ctx) => {
    const req = frame.request;
    if (!requestRate(group.folder)) {
      const reason = `group "${group.folder}" made too many requests this minute`;
      log.warn(`refused ${req.type} from ${group.folder}: ${reason}`);
      events.emit("ipc.rejected", { groupFolder: group.folder, file: req.type, reason });
      return { ok: false, text: `Refused: ${reason}. Try again later.` };
    }
    try {
      const text = await act(group, req, ctx.idemKey);
      log.debug("ipc request done", { group: group.folder, type: req.type });
      return { ok: true, text };
    } catch (err) {
      const reason = errorMessage(err);
      log.warn(`refused ${req.type} from ${group.folder}: ${reason}`);
      events.emit("ipc.rejected", { groupFolder: group.folder, file: req.type, reason });
      return { ok: false, text: `Refused: ${reason}` };
    }
  };
}
