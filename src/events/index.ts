/**
 * The in-process event bus: typed, synchronous, allocation-light. The store → orchestrator
 * notification (no DB polling), live events for the dashboard and metrics all ride on it.
 * A throwing listener is caught and reported; it never breaks the emitter.
 */

export interface EventMap {
  "message.stored": {
    seq: number;
    chatJid: string;
    sender: string;
    senderName: string;
    content: string;
    timestamp: number;
    isFromMe: boolean;
    channel: string;
  };
  "message.sent": { chatJid: string; text: string; channel: string; idemKey: string };
  "message.failed": {
    chatJid: string;
    error: string;
    channel: string;
    /** "unknown": the process died inside the send and the reply was not re-sent (policy). */
    fate?: "failed" | "unknown";
  };
  "agent.started": {
    groupFolder: string;
    chatJid: string;
    containerName: string;
    reason: "messages" | "task";
  };
  "agent.output": {
    groupFolder: string;
    chatJid: string;
    result: string | null;
    status: "success" | "error";
  };
  /** What a running agent is doing: a tool call started (with its name) or the model working. */
  "agent.activity": {
    groupFolder: string;
    chatJid: string;
    kind: "tool" | "model";
    name?: string;
  };
  /** The model API cannot be used (no credentials, or 401/403): the run cannot succeed. */
  "agent.auth.failed": {
    groupFolder: string;
    reason: "missing" | "rejected";
    status: number;
    /** One sentence for people, with the fix (see src/proxy/auth-failure.ts). */
    sentence: string;
  };
  /** Tokens of one model response, as the credential proxy saw it pass. */
  "agent.usage": {
    groupFolder: string;
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
  };
  "agent.finished": {
    groupFolder: string;
    chatJid: string;
    containerName: string;
    durationMs: number;
    status: "success" | "error" | "timeout";
    error?: string;
  };
  /** The container engine became unreachable (runs wait) or reachable again. */
  "engine.status": { ok: boolean; error?: string };
  "queue.changed": { active: number; waiting: number };
  "task.run": {
    taskId: string;
    groupFolder: string;
    status: "running" | "success" | "error" | "skipped" | "timed-out";
    durationMs?: number;
    error?: string;
  };
  "task.changed": { taskId: string; status: string };
  "channel.status": {
    channel: string;
    state: "connecting" | "connected" | "disconnected" | "error";
    error?: string;
    qr?: string;
  };
  "group.registered": { jid: string; folder: string; name: string };
  "group.removed": { jid: string; folder: string };
  "chat.discovered": { jid: string; name?: string; channel: string };
  "ipc.rejected": { groupFolder: string; file: string; reason: string };
  /** A public request refused (a webhook with a bad secret/signature/body, a failed login). */
  "request.rejected": { source: string; reason: string };
  error: { source: string; message: string };
}

export type EventName = keyof EventMap;
export type Listener<K extends EventName> = (payload: EventMap[K]) => void;
export type AnyListener = <K extends EventName>(name: K, payload: EventMap[K]) => void;

export interface EventBus {
  on<K extends EventName>(name: K, fn: Listener<K>): () => void;
  /** Every event (live events stream, metrics). */
  onAny(fn: AnyListener): () => void;
  emit<K extends EventName>(name: K, payload: EventMap[K]): void;
}

export function createEventBus(onListenerError?: (err: unknown, event: EventName) => void): EventBus {
  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  const any = new Set<AnyListener>();
  const report = (err: unknown, name: EventName) => {
    if (onListenerError) onListenerError(err, name);
  };
  return {
    on(name, fn) {
      let set = listeners.get(name);
      if (!set) {
        set = new Set();
        listeners.set(name, set);
      }
      set.add(fn as (p: unknown) => void);
      return () => set.delete(fn as (p: unknown) => void);
    },
    onAny(fn) {
      any.add(fn);
      return () => any.delete(fn);
    },
    emit(name, payload) {
      const set = listeners.get(name);
      if (set)
        for (const fn of set) {
          try {
            fn(payload);
          } catch (err) {
            report(err, name);
          }
        }
      for (const fn of any) {
        try {
          fn(name, payload);
        } catch (err) {
          report(err, name);
        }
      }
    },
  };
}
