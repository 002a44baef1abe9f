/**
 * QQ webhook mode (bot-docs `event-emit.md`, `sign.md`), served on the web server's webhook
 * routes: every push is `POST {id, op, d, s, t}`.
 * - op 13, URL validation: answer `{plain_token, signature}` with the signature of
 *   `event_ts + plain_token`. The docs' example carries no signature headers, so none is
 *   required; but plain_token and event_ts must be short tokens, so this route can never be
 *   used to make us sign something shaped like `timestamp + JSON body` (a forged event).
 * - op 0, dispatch: `X-Signature-Ed25519` over `X-Signature-Timestamp + raw body` must verify;
 *   `X-Bot-Appid`, when sent, must be ours; the event is handled (stored) and acked with
 *   `{"op":12,"d":0}` (a failure answers 500 so QQ pushes it again).
 * Refusals are one log line and one count each; nothing is stored from a refused request.
 */
import { Hono } from "hono";
import type { Logger } from "../../log/index.ts";
import type { QqSigner } from "./sign.ts";

export interface QqWebhookOptions {
  path: string;
  appId: string;
  signer: QqSigner;
  log: Logger;
  now(): number;
  maxBodyBytes?: number;
  /** A push whose signature timestamp is further than this from now is refused. Default 1 h. */
  maxSkewMs?: number;
  onRejected(reason: string): void;
  onDispatch(t: string, d: unknown, id: string | undefined): Promise<void>;
}

export function createQqWebhook(o: QqWebhookOptions): Hono {
  const app = new Hono();
  const maxBody = o.maxBodyBytes ?? 256 * 1024;
  const maxSkew = o.maxSkewMs ?? 60 * 60_000;
  const refuse = (reason: string, detail: string, status: 400 | 401 | 403 | 413) => {
    o.onRejected(reason);
    o.log.warn(`qq webhook refused: ${detail}`, { reason });
    return Response.json({ error: detail }, { status });
  };

  app.post(o.path, async (c) => {
    const len = Number(c.req.header("content-length") ?? 0);
    if (len > maxBody) return refuse("oversized", `body of ${len} bytes is over ${maxBody}`, 413);
    const raw = await c.req.text();
    if (raw.length > maxBody) return refuse("oversized", `body over ${maxBody} bytes`, 413);
    let p: { id?: unknown; op?: unknown; d?: unknown; t?: unknown };
    try {
      p = JSON.parse(raw);
      if (!p || typeof p !== "object" || Array.isArray(p)) throw new Error("not an object");
    } catch {
      return refuse("bad_body", "body is not a JSON object", 400);
    }
    const appId = c.req.header("x-bot-appid");
    if (appId !== undefined && appId !== o.appId)
      return refuse("wrong_app", "X-Bot-Appid is not this app", 403);

    if (p.op === 13) {
      const d = p.d as { plain_token?: unknown; event_ts?: unknown } | undefined;
      const token = d?.plain_token;
      const ts = d?.event_ts;
      if (
        typeof token !== "string" ||
        !/^[A-Za-z0-9_-]{1,128}$/.test(token) ||
        typeof ts !== "string" ||
        !/^\d{1,13}$/.test(ts)
      )
        return refuse(
          "bad_body",
          "validation request without a plain_token / event_ts of the documented form",
          400,
        );
      return c.json({ plain_token: token, signature: await o.signer.sign(ts + token) });
    }

    const sig = c.req.header("x-signature-ed25519") ?? "";
    const ts = c.req.header("x-signature-timestamp") ?? "";
    if (!sig || !/^\d{1,13}$/.test(ts))
      return refuse("bad_signature", "missing X-Signature-Ed25519 / X-Signature-Timestamp", 401);
    if (!(await o.signer.verify(ts + raw, sig)))
      return refuse("bad_signature", "signature does not verify", 401);
    if (Math.abs(o.now() - Number(ts) * 1000) > maxSkew)
      return refuse("replayed", "signature timestamp too far from now (replay?)", 401);
    if (p.op !== 0) return refuse("unknown_op", `opcode ${String(p.op).slice(0, 12)} is not a dispatch`, 400);
    if (typeof p.t !== "string" || p.t.length > 64)
      return refuse("bad_body", "dispatch without an event type", 400);
    try {
      await o.onDispatch(p.t, p.d, typeof p.id === "string" ? p.id : undefined);
    } catch (err) {
      o.log.error("qq event could not be stored; QQ will push it again", {
        t: p.t,
        error: (err as Error).message,
      });
      return c.json({ error: "store failed" }, 500);
    }
    return c.json({ op: 12, d: 0 });
  });
  return app;
}
