/**
 * Live events: `GET /api/events` streams bus events as Server-Sent Events (`event: <name>`,
 * `data: <json>`), with a keep-alive comment every 8 s and the subscription dropped when the
 * client goes away. `?types=a,b` limits the stream to some event names.
 */
import { streamSSE } from "hono/streaming";
import * as v from "valibot";
import type { EventName } from "../../events/index.ts";
import type { Api } from "../api.ts";
import type { ApiContext } from "./context.ts";

/** Under Bun.serve's default 10 s idle timeout, in case the per-request override is unavailable. */
const KEEPALIVE_MS = 8_000;
/** Cap per event so one huge message can't stall every dashboard. */
const MAX_CONTENT = 4_000;

function trim(payload: unknown): unknown {
  if (payload && typeof payload === "object") {
    const p = payload as Record<string, unknown>;
    for (const key of ["content", "text", "result"]) {
      const val = p[key];
      if (typeof val === "string" && val.length > MAX_CONTENT)
        return { ...p, [key]: `${val.slice(0, MAX_CONTENT)}…` };
    }
  }
  return payload;
}

export function eventRoutes(api: Api, ctx: ApiContext): void {
  const { events } = ctx.deps;
  api.route(
    {
      method: "get",
      path: "/api/events",
      tag: "events",
      summary:
        "Live events (Server-Sent Events): message.stored, agent.started/finished, task.run, channel.status…",
      produces: "text/event-stream",
      query: v.object({
        types: v.optional(
          v.pipe(v.string(), v.regex(/^[a-z.,]{1,500}$/, "must be comma-separated event names")),
        ),
      }),
    },
    (c, { query }) => {
      const only = query.types ? new Set(query.types.split(",").filter(Boolean)) : null;
      // A stream is idle by design: lift Bun's per-request idle timeout (default 10 s) for it.
      (c.env as { timeout?: (req: Request, seconds: number) => void } | undefined)?.timeout?.(c.req.raw, 0);
      c.header("Cache-Control", "no-cache");
      c.header("X-Accel-Buffering", "no");
      return streamSSE(c, async (stream) => {
        let id = 0;
        let closed = false;
        let wake: (() => void) | null = null;
        const queue: { type: string; data: string }[] = [];
        const off = events.onAny((name: EventName, payload) => {
          if (closed || (only && !only.has(name))) return;
          if (queue.length > 1000) queue.shift(); // a stuck client loses old events, not memory
          queue.push({
            type: name,
            data: JSON.stringify({ type: name, at: Date.now(), data: trim(payload) }),
          });
          wake?.();
        });
        const timer = setInterval(() => {
          queue.push({ type: "", data: "" });
          wake?.();
        }, KEEPALIVE_MS);
        stream.onAbort(() => {
          closed = true;
          wake?.();
        });
        try {
          await stream.writeSSE({
            event: "hello",
            data: JSON.stringify({ at: Date.now() }),
            id: String(id++),
          });
          while (!closed) {
            if (queue.length === 0) await new Promise<void>((r) => (wake = r));
            wake = null;
            for (let item = queue.shift(); item !== undefined && !closed; item = queue.shift()) {
              if (item.type === "") await stream.write(": keep-alive\n\n");
              else await stream.writeSSE({ event: item.type, data: item.data, id: String(id++) });
            }
          }
        } finally {
          closed = true;
          off();
          clearInterval(timer);
        }
      });
    },
  );
}
