/**
 * Host actions for the CLI against a running serve:
 * - `POST /api/send {jid, text}`: a proactive message through whichever channel owns the chat
 *   (`ngb send`). Same delivery path as replies, so it is stored and tracked; 404 when no
 *   connected channel owns the jid; a channel failure answers by its kind (a refused chat id
 *   400, auth/network 502, rate limited 429).
 * - `POST /api/run {group, prompt, resume?}`: one prompt in a group's container, queued like a
 *   task, results returned and not sent to the chat (`ngb run` while serve runs).
 */
import type { Hono } from "hono";
import * as v from "valibot";
import { type Deliver, NoChannelError, type PromptOutcome } from "../../orchestrator/index.ts";
import type { RegisteredGroup, Store } from "../../store/index.ts";
import { CHANNEL_ERROR_STATUS, channelErrorOf } from "../../web/errors.ts";

export const SendRequest = v.object({
  jid: v.pipe(v.string(), v.trim(), v.minLength(1, "jid must not be empty"), v.maxLength(256)),
  text: v.pipe(v.string(), v.minLength(1, "text must not be empty"), v.maxLength(64_000, "text is too long")),
});
export type SendRequest = v.InferOutput<typeof SendRequest>;

export const RunRequest = v.object({
  group: v.pipe(v.string(), v.trim(), v.minLength(1, "group must not be empty"), v.maxLength(256)),
  prompt: v.pipe(v.string(), v.trim(), v.minLength(1, "prompt must not be empty"), v.maxLength(16_000)),
  resume: v.optional(v.boolean()),
});
export type RunRequest = v.InferOutput<typeof RunRequest>;

function invalid(issues: [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]]) {
  const issue = issues[0];
  const where = v.getDotPath(issue);
  return { error: "invalid_request", message: `${where ? `${where}: ` : ""}${issue.message}` };
}

export function runRoutes(
  app: Hono,
  deps: {
    store: Store;
    dispatchPrompt: (
      group: RegisteredGroup,
      prompt: string,
      opts: { resume?: boolean },
    ) => Promise<PromptOutcome>;
  },
): void {
  app.post("/api/run", async (c) => {
    const parsed = v.safeParse(RunRequest, await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(invalid(parsed.issues), 400);
    const { group: ref, prompt, resume } = parsed.output;
    const group = deps.store.groups.byFolder(ref) ?? deps.store.groups.get(ref);
    if (!group) return c.json({ error: "not_found", message: `no registered group "${ref}"` }, 404);
    const outcome = await deps.dispatchPrompt(group, prompt, { resume });
    return c.json({ group: group.folder, ...outcome });
  });
}

export function sendRoutes(app: Hono, deps: { deliver: Deliver }): void {
  let n = 0;
  app.post("/api/send", async (c) => {
    const parsed = v.safeParse(SendRequest, await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(invalid(parsed.issues), 400);
    const { jid, text } = parsed.output;
    const idemKey =
      c.req.header("idempotency-key") ??
      `api:${Date.now().toString(36)}:${++n}:${Math.random().toString(36).slice(2, 8)}`;
    try {
      const out = await deliver(deps.deliver, jid, text, idemKey);
      return c.json({ jid, status: out.status, seq: out.seq }, 201);
    } catch (err) {
      if (err instanceof NoChannelError) return c.json({ error: "not_found", message: err.message }, 404);
      // The channel's failure decides, by kind: a refused chat id is the caller's 400, at once.
      const failure = channelErrorOf(err);
      if (failure) {
        const [status, error] = CHANNEL_ERROR_STATUS[failure.kind];
        return c.json({ error, message: failure.message }, status as 400);
      }
      if (err instanceof Error && err.name === "DeliveryError")
        return c.json({ error: "bad_gateway", message: err.message }, 502);
      throw err;
    }
  });
}

const deliver = (d: Deliver, chatJid: string, text: string, idemKey: string) => d({ chatJid, text, idemKey });
