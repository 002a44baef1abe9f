/**
 * Sending to a DingTalk chat. A reply goes through the session webhook of the chat's latest
 * message while that webhook is valid (no OpenAPI permission needed); otherwise, or when the
 * webhook refuses, through the robot OpenAPI: `groupMessages/send` for a group,
 * `oToMessages/batchSend` for a 1:1 chat (HTTP 200 is not delivery: a user listed as
 * flow-controlled is rate-limited, one listed as invalid is refused). A network failure is
 * never "fallen back" from (the first request may have arrived); it propagates for delivery to
 * retry. Long text is split at DINGTALK_TEXT_LIMIT; Markdown goes as a markdown message.
 */
import type { Logger } from "../../log/index.ts";
import type { SendOptions } from "../../orchestrator/channel.ts";
import { RateLimitedError, sendChunks, splitMessage, withRateLimitRetry } from "../kit/index.ts";
import { type DingTalkApi, DingTalkApiError, DingTalkConfigError } from "./api.ts";
import { DINGTALK_TEXT_LIMIT, openApiPayload, webhookBody } from "./format.ts";
import { type DingTalkTarget, isEncryptedUserId, parseJid } from "./map.ts";
import type { SessionWebhooks } from "./webhooks.ts";

/** The parts of the shared token cache the sender uses. */
export interface TokenSource {
  withToken<T>(fn: (token: string) => Promise<T>): Promise<T>;
}

export interface SenderOptions {
  api: DingTalkApi;
  tokens: TokenSource;
  webhooks: SessionWebhooks;
  log: Logger;
  /** Title of markdown messages without a heading of their own. */
  assistantName: string;
  now?: () => number;
  /** Rate-limit waits per chunk before giving up. Default 5. */
  maxRateLimitRetries?: number;
  /** Wait after a flow-controlled 1:1 send. Default 2 s. */
  flowControlRetryMs?: number;
  /** A webhook this close to its expiry is not used. Default 60 s. */
  webhookMarginMs?: number;
}

export type Route = "webhook" | "openapi";

const NOT_ALLOW_OTO = "chatbotId.notAllow.sendOTO";

export function createSender(opts: SenderOptions) {
  const now = opts.now ?? Date.now;
  const margin = opts.webhookMarginMs ?? 60_000;
  const flowRetryMs = opts.flowControlRetryMs ?? 2_000;
  const log = opts.log;
  const retry = {
    maxRetries: opts.maxRateLimitRetries ?? 5,
    onWait: (err: RateLimitedError, attempt: number) =>
      log.warn("rate limited, waiting", { retryAfterMs: err.retryAfterMs, attempt }),
  };

  async function viaOpenApi(jid: string, target: DingTalkTarget, chunk: string): Promise<void> {
    if (target.kind === "user" && isEncryptedUserId(target.id)) {
      throw new DingTalkConfigError(
        `${jid} is an external user without a staff id: only a session webhook reaches them, and none is valid (they must write to the bot again)`,
      );
    }
    const payload = openApiPayload(chunk, opts.assistantName);
    await opts.tokens.withToken(async (token) => {
      if (target.kind === "group") {
        await opts.api.sendToGroup(token, target.id, payload);
        return;
      }
      let res: Awaited<ReturnType<DingTalkApi["batchSendOto"]>>;
      try {
        res = await opts.api.batchSendOto(token, [target.id], payload);
      } catch (err) {
        if (err instanceof DingTalkApiError && err.code === NOT_ALLOW_OTO) {
          throw new DingTalkApiError(
            err.endpoint,
            err.status,
            err.code,
            "the robot may not send 1:1 messages: grant it in the developer console, or reply while the session webhook is valid",
          );
        }
        throw err;
      }
      if (res.flowControlledStaffIdList.includes(target.id)) {
        throw new RateLimitedError("dingtalk", flowRetryMs, "user is flow-controlled");
      }
      if (res.invalidStaffIdList.includes(target.id)) {
        throw new DingTalkApiError(
          "robot/oToMessages/batchSend",
          200,
          "invalidStaffIdList",
          `no such staff id ${target.id}`,
          true,
        );
      }
    });
  }

  /** Deliver one chunk; resolves with the route that worked. */
  async function deliver(jid: string, target: DingTalkTarget, chunk: string): Promise<Route> {
    const hook = opts.webhooks.get(jid);
    if (hook && hook.expiresAt - margin > now()) {
      try {
        await withRateLimitRetry(
          () => opts.api.sendBySession(hook.url, webhookBody(chunk, opts.assistantName)),
          retry,
        );
        return "webhook";
      } catch (err) {
        if (!(err instanceof DingTalkApiError)) throw err;
        log.warn("session webhook refused, using the OpenAPI", { jid, code: err.code });
        opts.webhooks.delete(jid);
      }
    }
    await withRateLimitRetry(() => viaOpenApi(jid, target, chunk), retry);
    return "openapi";
  }

  return {
    /** Send `text` (split) to `jid`; returns the route of each chunk. */
    async send(jid: string, text: string, options: SendOptions = {}): Promise<Route[]> {
      const target = parseJid(jid);
      if (!target)
        throw new DingTalkConfigError(
          `not a DingTalk chat id: ${jid} (dingtalk:group:<cid> or dingtalk:user:<id>)`,
        );
      const routes: Route[] = [];
      await sendChunks("dingtalk", splitMessage(text, DINGTALK_TEXT_LIMIT), options, async (chunk) => {
        routes.push(await deliver(jid, target, chunk));
      });
      return routes;
    },
  };
}
export type Sender = ReturnType<typeof createSender>;
