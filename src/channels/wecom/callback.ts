/**
 * The self-built app's callback URL, served on the web server's webhook routes:
 * - GET  ?msg_signature&timestamp&nonce&echostr — URL verification: check the signature over
 *   echostr, decrypt it and answer the plaintext (no quotes, no newline) within 1 s;
 * - POST ?msg_signature&timestamp&nonce with `<xml>…<Encrypt>…</Encrypt></xml>` — check the
 *   signature, decrypt (receiveid = corp id), hand the inner XML over, answer 200 with an empty
 *   body (WeCom retries three times when the answer takes over 5 s).
 * Every refusal is one log line without secrets and one count (`onRejected`).
 */
import { Hono } from "hono";
import type { Logger } from "../../log/index.ts";
import { safeEqual } from "../../util/crypto.ts";
import { createWecomCipher, parseFlatXml, WecomCryptoError, wecomSignature } from "./crypto.ts";

export interface CallbackOptions {
  path: string;
  token: string;
  encodingAesKey: string;
  corpId: string;
  log: Logger;
  now(): number;
  maxBodyBytes?: number;
  /** Requests whose timestamp is further than this from now are refused as replays. Default 1 h. */
  maxSkewMs?: number;
  onRejected(reason: string): void;
  /** A decrypted message (flat XML fields). Throws when it could not be stored (→ 500, WeCom retries). */
  onMessage(fields: Record<string, string>): Promise<void>;
}

export function createCallbackRoutes(o: CallbackOptions): Hono {
  const app = new Hono();
  const cipher = createWecomCipher(o.encodingAesKey, o.corpId);
  const maxBody = o.maxBodyBytes ?? 256 * 1024;
  const maxSkew = o.maxSkewMs ?? 60 * 60_000;

  const refuse = (reason: string, detail: string, status: 400 | 403 | 413) => {
    o.onRejected(reason);
    o.log.warn(`wecom callback refused: ${detail}`, { reason });
    return new Response(detail, { status });
  };

  function checkQuery(q: Record<string, string>): { ts: string; nonce: string; sig: string } | string {
    const { msg_signature: sig, timestamp: ts, nonce } = q;
    if (!sig || !ts || !nonce) return "missing msg_signature, timestamp or nonce";
    if (!/^\d{1,12}$/.test(ts)) return "timestamp is not a number";
    if (Math.abs(o.now() - Number(ts) * 1000) > maxSkew) return "timestamp too far from now (replay?)";
    return { ts, nonce, sig };
  }

  app.get(o.path, async (c) => {
    const q = c.req.query();
    const checked = checkQuery(q);
    if (typeof checked === "string") return refuse("bad_request", checked, 400);
    const echostr = q.echostr ?? "";
    if (!echostr) return refuse("bad_request", "missing echostr", 400);
    if (!safeEqual(wecomSignature(o.token, checked.ts, checked.nonce, echostr), checked.sig))
      return refuse("bad_signature", "msg_signature does not match", 403);
    try {
      return c.text(await cipher.decrypt(echostr));
    } catch (err) {
      const reason = err instanceof WecomCryptoError ? err.reason : "bad_body";
      return refuse(reason, `echostr could not be decrypted (${(err as Error).message})`, 400);
    }
  });

  app.post(o.path, async (c) => {
    const q = c.req.query();
    const checked = checkQuery(q);
    if (typeof checked === "string") return refuse("bad_request", checked, 400);
    const len = Number(c.req.header("content-length") ?? 0);
    if (len > maxBody) return refuse("oversized", `body of ${len} bytes is over ${maxBody}`, 413);
    const raw = await c.req.text();
    if (raw.length > maxBody) return refuse("oversized", `body over ${maxBody} bytes`, 413);
    const encrypt = parseFlatXml(raw).Encrypt;
    if (!encrypt) return refuse("bad_body", "body is not <xml> with an <Encrypt> element", 400);
    if (!safeEqual(wecomSignature(o.token, checked.ts, checked.nonce, encrypt), checked.sig))
      return refuse("bad_signature", "msg_signature does not match", 403);
    let inner: string;
    try {
      inner = await cipher.decrypt(encrypt);
    } catch (err) {
      const reason = err instanceof WecomCryptoError ? err.reason : "bad_body";
      return refuse(reason, `body could not be decrypted (${(err as Error).message})`, 400);
    }
    const fields = parseFlatXml(inner);
    if (!fields.MsgType) return refuse("bad_body", "decrypted body is not a WeCom message", 400);
    try {
      await o.onMessage(fields);
    } catch (err) {
      o.log.error("wecom callback could not be stored; WeCom will retry", { error: (err as Error).message });
      return c.text("store failed", 500);
    }
    return c.body(null, 200);
  });
  return app;
}
