/** Same-origin API calls (the session cookie authenticates) and the live event stream. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T = unknown>(
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<T> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  const res = await fetch(path, { ...init, headers, body, credentials: "same-origin" });
  if (res.status === 401) {
    location.href = "/login";
    throw new ApiError(401, "logged out");
  }
  const data = (await res.json().catch(() => ({}))) as T & { message?: string };
  if (!res.ok) throw new ApiError(res.status, data.message ?? `HTTP ${res.status}`);
  return data;
}

export interface LiveEvent {
  type: string;
  at: number;
  data: Record<string, unknown>;
}

type Handler = (e: LiveEvent) => void;
const handlers = new Set<Handler>();
let source: EventSource | null = null;
let onState: ((up: boolean) => void) | null = null;

/** One EventSource for the page; views subscribe and unsubscribe as they mount. */
export function live(fn: Handler): () => void {
  handlers.add(fn);
  return () => handlers.delete(fn);
}

export function startLive(state: (up: boolean) => void): void {
  onState = state;
  if (source) return;
  source = new EventSource("/api/events");
  source.onopen = () => onState?.(true);
  source.onerror = () => onState?.(false);
  const dispatch = (msg: MessageEvent) => {
    let e: LiveEvent;
    try {
      e = JSON.parse(msg.data);
    } catch {
      return;
    }
    for (const fn of handlers) fn(e);
  };
  for (const type of [
    "message.stored",
    "message.sent",
    "message.failed",
    "agent.started",
    "agent.output",
    "agent.finished",
    "queue.changed",
    "task.run",
    "task.changed",
    "channel.status",
    "group.registered",
    "group.removed",
    "chat.discovered",
    "ipc.rejected",
    "error",
  ])
    source.addEventListener(type, dispatch as EventListener);
}
