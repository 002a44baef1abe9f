/**
 * The dashboard's recent-errors panel: a bounded ring of errors seen on the event bus (channel
 * errors, failed agent runs and sends, refused IPC, failed tasks). Everything else the status
 * shows comes from the runtime's status provider, the one source of live state.
 */
import type { EventBus } from "../events/index.ts";

export interface RecentError {
  at: number;
  source: string;
  message: string;
}

export interface RecentErrors {
  /** Newest first. */
  list(): RecentError[];
  stop(): void;
}

const MAX_ERRORS = 50;

export function createRecentErrors(events: EventBus, now: () => number = Date.now): RecentErrors {
  const errors: RecentError[] = [];
  const push = (source: string, message: string) => {
    errors.push({ at: now(), source, message: message.slice(0, 500) });
    if (errors.length > MAX_ERRORS) errors.shift();
  };
  const offs = [
    events.on("channel.status", (e) => {
      if (e.error) push(`channel ${e.channel}`, e.error);
    }),
    events.on("agent.finished", (e) => {
      if (e.status !== "success") push(`agent ${e.groupFolder}`, e.error ?? e.status);
    }),
    events.on("message.failed", (e) => push(`send ${e.channel}`, `${e.chatJid}: ${e.error}`)),
    events.on("ipc.rejected", (e) => push(`ipc ${e.groupFolder}`, `${e.file}: ${e.reason}`)),
    events.on("task.run", (e) => {
      if (e.status === "error" || e.status === "timed-out") push(`task ${e.taskId}`, e.error ?? e.status);
    }),
    events.on("error", (e) => push(e.source, e.message)),
  ];
  return {
    list: () => [...errors].reverse(),
    stop() {
      for (const off of offs) off();
    },
  };
}
