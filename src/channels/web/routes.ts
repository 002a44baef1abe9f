/**
 * `POST /api/send {jid, text}`: a proactive message through whichever channel owns the chat
 * (used by `ngb send`). Goes through the same delivery path as replies, so it is stored and
 * tracked; 404 when no connected channel owns the jid.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import { type Deliver, NoChannelError } from "../../orchestrator/index.ts";

export const SendRequest = v.object({
  jid: v.pipe(v.string(), v.trim(), v.minLength(1, "jid must not be empty"), v.maxLength(256)),
  text: v.pipe(v.string(), v.minLength(1, "text must not be empty"), v.maxLength(64_000, "text is too long")),
});
export type SendRequest = v.InferOutput<typeof SendRequest>;

export function sendRoutes(app: Hono, deps: { deliver: Deliver }): void {
  let n = 0;
  app.post("/api/send", async (c) => {
    const parsed = v.safeParse(SendRequest, await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const where = v.getDotPath(issue);
      return c.json(
        { error: "invalid_request", message: `${where ? `${where}: ` : ""}${issue.message}` },
        400,
      );
    }
    const { jid, text } = parsed.output;
    const idemKey =
      c.req.header("idempotency-key") ??
      `api:${Date.now().toString(36)}:${++n}:${Math.random().toString(36).slice(2, 8)}`;
    try {
      const out = await deliver(deps.deliver, jid, text, idemKey);
      return c.json({ jid, status: out.status, seq: out.seq }, 201);
    } catch (err) {
      if (err instanceof NoChannelError) return c.json({ error: "not_found", message: err.message }, 404);
      if (err instanceof Error && err.name === "DeliveryError")
        return c.json({ error: "bad_gateway", message: err.message }, 502);
      throw err;
    }
  });
}

const deliver = (d: Deliver, chatJid: string, text: string, idemKey: string) => d({ chatJid, text, idemKey });
