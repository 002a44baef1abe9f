/**
 * The one way a reply leaves the host: find the channel that owns the chat, claim the
 * idempotency key in the store (a key already `sent` is skipped, so a re-run after a crash does
 * not reply twice), send, mark sent, and store the reply as a message so history shows both
 * sides. Failures are recorded (`markFailed`, `message.failed`) and thrown to the caller.
 */
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import { noopHooks, type PipelineHooks } from "../plugins/index.ts";
import type { Store } from "../store/index.ts";
import { errorMessage } from "../util/errors.ts";
import type { Channel, SendOptions } from "./channel.ts";

export class NoChannelError extends Error {
  override name = "NoChannelError";
  constructor(readonly jid: string) {
    super(`no connected channel owns chat "${jid}"`);
  }
}

export class DeliveryError extends Error {
  override name = "DeliveryError";
  constructor(
    readonly jid: string,
    readonly channel: string,
    override readonly cause: unknown,
  ) {
    super(`sending to ${jid} via ${channel} failed: ${errorMessage(cause)}`);
  }
}

export interface DeliverRequest {
  chatJid: string;
  text: string;
  /** Stable across re-runs of the same reply. */
  idemKey: string;
  options?: SendOptions;
  /** plugins: who sends, for message.sending (default "api"). */
  source?: "agent" | "ipc" | "task" | "api" | "plugin";
  /** plugins: the sending plugin when source is "plugin". */
  plugin?: string;
}

/** `cancelled`: a plugin's message.sending cancelled it (plugins). */
export type DeliverOutcome = { status: "sent" | "duplicate" | "cancelled"; seq: number | null };

export interface DeliveryDeps {
  store: Store;
  events: EventBus;
  channels: () => readonly Channel[];
  assistantName: string;
  log: Logger;
  now?: () => number;
  /**
   * Waits before re-sending after a transient failure (network, timeout); one retry per entry.
   * Default 0.5 s then 2 s. A refusal by the platform (`…ApiError`, `…AuthError`,
   * `…ConfigError`) is not retried here.
   */
  retryDelaysMs?: readonly number[];
  /** plugins: message.sending / message.sent (default: none). */
  hooks?: PipelineHooks;
}

const DEFAULT_RETRY_DELAYS_MS = [500, 2_000];

/** The platform said no (bad chat, no permission, bad token): sending again won't help. */
export function isPermanentSendError(err: unknown): boolean {
  return err instanceof Error && /(Api|Auth|Config)Error$/.test(err.name);
}

export type Deliver = (req: DeliverRequest) => Promise<DeliverOutcome>;

export function findChannel(channels: readonly Channel[], jid: string): Channel | undefined {
  return channels.find((c) => c.ownsJid(jid));
}

export function createDelivery(deps: DeliveryDeps): Deliver {
  const now = deps.now ?? Date.now;
  const delays = deps.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const hooks = deps.hooks ?? noopHooks;
  return async ({ chatJid, text: original, idemKey, options, source, plugin }) => {
    const channel = findChannel(deps.channels(), chatJid);
    if (!channel) throw new NoChannelError(chatJid);
    // plugins: message.sending may rewrite or cancel the reply before it is claimed and sent.
    const sending = await hooks.messageSending({ chatJid, text: original, source: source ?? "api", plugin });
    if (sending.action === "cancel") {
      deps.log.info("reply cancelled by plugin", { chatJid, plugin: sending.plugin, reason: sending.reason });
      return { status: "cancelled", seq: null };
    }
    const text = sending.text;
    const row = deps.store.outbound.claim(idemKey, chatJid, text, options?.threadId ?? null, now());
    if (row.status === "sent") {
      deps.log.debug("reply already sent, skipping", { idemKey, chatJid });
      return { status: "duplicate", seq: null };
    }
    // A transient failure is retried here, so the agent's answer is not thrown away (a failed
    // delivery otherwise re-runs the agent). The channel adapters already wait out rate limits.
    for (let attempt = 0; ; attempt++) {
      try {
        await channel.send(chatJid, text, options);
        break;
      } catch (err) {
        if (attempt < delays.length && !isPermanentSendError(err)) {
          deps.log.warn("send failed, retrying", { chatJid, attempt: attempt + 1, error: errorMessage(err) });
          await Bun.sleep(delays[attempt]!);
          continue;
        }
        deps.store.outbound.markFailed(row.id, errorMessage(err));
        deps.events.emit("message.failed", { chatJid, error: errorMessage(err), channel: channel.name });
        throw new DeliveryError(chatJid, channel.name, err);
      }
    }
    const at = now();
    deps.store.outbound.markSent(row.id, at);
    const seq = deps.store.messages.insert(
      {
        id: `out:${idemKey}`,
        chatJid,
        sender: "assistant",
        senderName: deps.assistantName,
        content: text,
        timestamp: at,
        isFromMe: true,
        isBot: true,
        threadId: options?.threadId,
        replyToId: options?.replyToId,
      },
      at,
    );
    if (seq !== null)
      deps.events.emit("message.stored", {
        seq,
        chatJid,
        sender: "assistant",
        senderName: deps.assistantName,
        content: text,
        timestamp: at,
        isFromMe: true,
        channel: channel.name,
      });
    deps.events.emit("message.sent", { chatJid, text, channel: channel.name, idemKey });
    hooks.messageSent({ chatJid, text, channel: channel.name }); // plugins
    return { status: "sent", seq };
  };
}
