/**
 * What the dashboard shows that the database doesn't hold, kept from bus events: channel
 * states (connected since, last error, pairing QR), agents running per group, the queue, and a
 * ring of recent errors. Used when the runtime's own status provider is absent, and for the
 * recent-errors panel either way.
 */
import type { EventBus, EventMap } from "../events/index.ts";
import type { ChannelHealth } from "../orchestrator/channel.ts";
import type { RunningContainer } from "./types.ts";

export interface RecentError {
  at: number;
  source: string;
  message: string;
}

export interface LiveState {
  channels(): ChannelHealth[];
  agents(): RunningContainer[];
  queue(): { active: number; waiting: number } | null;
  errors(): RecentError[];
  stop(): void;
}

const MAX_ERRORS = 50;

export function createLiveState(events: EventBus, now: () => number = Date.now): LiveState {
  const channels = new Map<string, ChannelHealth>();
  const agents = new Map<string, RunningContainer>();
  let queue: { active: number; waiting: number } | null = null;
  const errors: RecentError[] = [];
  const pushError = (source: string, message: string) => {
    errors.push({ at: now(), source, message: message.slice(0, 500) });
    if (errors.length > MAX_ERRORS) errors.shift();
  };

  const onChannel = (e: EventMap["channel.status"]) => {
    const prev = channels.get(e.channel);
    const t = now();
    const next: ChannelHealth = {
      name: e.channel,
      state: e.state,
      connectedSince:
        e.state === "connected" ? (prev?.state === "connected" ? prev.connectedSince : t) : undefined,
      lastError: e.error ?? prev?.lastError,
      lastErrorAt: e.error ? t : prev?.lastErrorAt,
      qr: e.qr,
    };
    channels.set(e.channel, next);
    if (e.error) pushError(`channel ${e.channel}`, e.error);
  };
  const offs = [
    events.on("channel.status", onChannel),
    events.on("agent.started", (e) =>
      agents.set(e.containerName, {
        name: e.containerName,
        groupFolder: e.groupFolder,
        chatJid: e.chatJid,
        startedAt: now(),
        reason: e.reason,
      }),
    ),
    events.on("agent.finished", (e) => {
      agents.delete(e.containerName);
      if (e.status !== "success") pushError(`agent ${e.groupFolder}`, e.error ?? e.status);
    }),
    events.on("queue.changed", (e) => {
      queue = { active: e.active, waiting: e.waiting };
    }),
    events.on("message.failed", (e) => pushError(`send ${e.channel}`, `${e.chatJid}: ${e.error}`)),
    events.on("ipc.rejected", (e) => pushError(`ipc ${e.groupFolder}`, `${e.file}: ${e.reason}`)),
    events.on("task.run", (e) => {
      if (e.status === "error" || e.status === "timed-out")
        pushError(`task ${e.taskId}`, e.error ?? e.status);
    }),
    events.on("error", (e) => pushError(e.source, e.message)),
  ];
  return {
    channels: () => [...channels.values()],
    agents: () => [...agents.values()],
    queue: () => queue,
    errors: () => [...errors].reverse(),
    stop() {
      for (const off of offs) off();
    },
  };
}
