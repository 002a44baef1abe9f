/**
 * The HTTP event subscription ("将事件发送至开发者服务器"): one POST route on the web server's
 * public webhook mount. With an Encrypt Key the body is `{"encrypt": …}` and the request carries
 * `X-Lark-Request-Timestamp`, `X-Lark-Request-Nonce` and `X-Lark-Signature`; the signature is
 * checked over the raw body and the timestamp must be recent (replays of an old request are
 * refused; replays of a recent one are absorbed by event-id de-duplication). Every event's
 * verification token is checked. `url_verification` is answered with its challenge. An event is
 * answered 200 once stored, 500 when storing failed (the platform then re-posts it).
 */
import { Hono } from "hono";
import type { Logger } from "../../log/index.ts";
import { safeEqual } from "../../util/crypto.ts";
import { errorMessage } from "../../util/errors.ts";
import { decryptEvent, FeishuDecryptError, verifySignature } from "./crypto.ts";

export interface WebhookOptions {
  path: string;
  verificationToken: string;
  encryptKey?: string;
  log: Logger;
  /** Handle a decrypted, authenticated event body. Resolves once stored. */
  handle(body: Record<string, unknown>): Promise<void>;
  onRejected?(reason: string): void;
  /** Largest accepted body. Default 1 MiB. */
  maxBodyBytes?: number;
  /** How far a signed request's timestamp may be from now. Default 5 min. */
  maxSkewMs?: number;
  now?: () => number;
}

export function createWebhookRoutes(opts: WebhookOptions): Hono {
  const app = new Hono();
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const maxSkew = opts.maxSkewMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  const refuse = (reason: string, detail: Record<string, unknown> = {}) => {
    opts.onRejected?.(reason);
    opts.log.warn(reason, detail);
  };

  app.post(opts.path, async (c) => {
    const declared = Number(c.req.header("content-length") ?? 0);
    if (declared > maxBody) {
      refuse("feishu webhook body too large; refused", { bytes: declared });
      return c.json({ error: "body too large" }, 413);
    }
    const raw = await c.req.text();
    if (raw.length > maxBody) {
      refuse("feishu webhook body too large; refused", { bytes: raw.length });
      return c.json({ error: "body too large" }, 413);
    }
    let outer: unknown;
    try {
      outer = JSON.parse(raw);
    } catch {
      refuse("feishu webhook body is not JSON; refused");
      return c.json({ error: "bad json" }, 400);
    }
    if (!outer || typeof outer !== "object" || Array.isArray(outer)) {
      refuse("feishu webhook body is not a JSON object; refused");
      return c.json({ error: "bad body" }, 400);
    }
    let body = outer as Record<string, unknown>;

    if (typeof body.encrypt === "string") {
      if (!opts.encryptKey) {
        refuse("feishu webhook sent an encrypted event but channels.feishu.encryptKey is not set");
        return c.json({ error: "cannot decrypt" }, 400);
      }
      const timestamp = c.req.header("x-lark-request-timestamp") ?? "";
      const nonce = c.req.header("x-lark-request-nonce") ?? "";
      const signature = c.req.header("x-lark-signature") ?? "";
      // The URL-verification request is not signed; it is checked by its token below.
      const signed = timestamp !== "" || signature !== "";
      if (signed) {
        if (!verifySignature({ timestamp, nonce, signature }, opts.encryptKey, raw)) {
          refuse("feishu webhook request with a wrong signature refused");
          return c.json({ error: "bad signature" }, 401);
        }
        const ts = Number(timestamp) * 1000;
        if (!Number.isFinite(ts) || Math.abs(now() - ts) > maxSkew) {
          refuse("feishu webhook request with a stale timestamp refused (replay?)", { timestamp });
          return c.json({ error: "stale request" }, 401);
        }
      }
      try {
        const plain = JSON.parse(await decryptEvent(opts.encryptKey, body.encrypt));
        if (!plain || typeof plain !== "object" || Array.isArray(plain))
          throw new FeishuDecryptError("not an object");
        body = plain as Record<string, unknown>;
      } catch (err) {
        refuse("feishu webhook event does not decrypt with the configured encryptKey; refused", {
          problem: errorMessage(err),
        });
        return c.json({ error: "cannot decrypt" }, 400);
      }
      if (!signed && body.type !== "url_verification") {
        refuse("feishu webhook event without a signature refused");
        return c.json({ error: "unsigned" }, 401);
      }
    } else if (opts.encryptKey) {
      refuse("feishu webhook event not encrypted although encryptKey is set; refused");
      return c.json({ error: "expected encrypted body" }, 400);
    }

    const header = body.header as { token?: unknown } | undefined;
    const token = body.type === "url_verification" ? body.token : (header?.token ?? body.token);
    if (typeof token !== "string" || !safeEqual(token, opts.verificationToken)) {
      refuse("feishu webhook request with a wrong verification token refused");
      return c.json({ error: "bad token" }, 401);
    }
    if (body.type === "url_verification") {
      if (typeof body.challenge !== "string") return c.json({ error: "no challenge" }, 400);
      opts.log.info("feishu webhook URL verified");
      return c.json({ challenge: body.challenge });
    }
    try {
      await opts.handle(body);
    } catch (err) {
      opts.log.error("feishu webhook event not stored; the platform will re-post it", {
        error: errorMessage(err),
      });
      return c.json({ error: "store failed" }, 500);
    }
    return c.json({ code: 0 });
  });
  return app;
}
