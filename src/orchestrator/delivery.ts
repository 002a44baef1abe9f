/**
 * The one way a reply leaves the host: the outbox sender. Every reply is an outbox row (text
 * saved, identity fixed) before it is sent; rows of one chat go out in order, one at a time.
 * A send is: mark `sending` → channel.send (with the row's key as the platform idempotency key
 * where the platform has one, resuming after the chunks already accepted) → mark `sent` and
 * store the reply in the history in one transaction. A transient failure is retried from the
 * row with backoff; a refusal by the platform is final. Nothing here ever runs the agent again.
 *
 * A row found `sending` at start-up died inside its send: it is re-sent when the channel
 * de-duplicates re-sends (Discord nonce, WhatsApp message id, Feishu uuid) or the policy says
 * `resend`; otherwise (default) it is marked `unknown` and not re-sent — at most one duplicate
 * is traded for at most one lost reply only when the user asks for it.
 */
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import type { PipelineHooks } from "./hooks.ts";
import type { OutboxRow, OutboxSource, Store } from "../store/index.ts";
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
    /** The platform refused: sending again will not help. */
    readonly permanent: boolean,
  ) {
    super(`sending to ${jid} via ${channel} failed: ${errorMessage(cause)}`);
  }
}

export interface DeliverRequest {
  chatJid: string;
  text: string;
  /** The reply's identity: the same on every re-send. */
  idemKey: string;
  options?: Pick<SendOptions, "threadId" | "replyToId">;
  source?: OutboxSource;
  /** The plugin sending it (source "plugin"), for the message.sending hook. */
  plugin?: string;
}

export type DeliverOutcome = {
  /** queued: a transient failure; the reply stays in the outbox and is retried in the background. */
  status: "sent" | "duplicate" | "queued" | "cancelled";
  seq: number | null;
};

export type UnknownFatePolicy = "skip" | "resend";

export interface DeliveryDeps {
  store: Store;
  events: EventBus;
  channels: () => readonly Channel[];
  assistantName: string;
  log: Logger;
  now?: () => number;
  /** Waits before attempt 2, 3, …; past the last one the reply is marked failed. */
  backoffMs?: readonly number[];
  /** Attempts an awaited `deliver` waits for before answering "queued". Default 3. */
  awaitAttempts?: number;
  unknownFate?: UnknownFatePolicy;
  hooks?: Pick<PipelineHooks, "messageSending" | "messageSent">;
}

const DEFAULT_BACKOFF_MS = [500, 2_000, 10_000, 60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000];

/**
 * The platform said no (bad chat, no permission, bad token): sending again won't help. Every
 * channel throws a ChannelError that says so (`permanent`); an error without that flag is
 * taken as transient.
 */
export function isPermanentSendError(err: unknown): boolean {
  return err instanceof Error && (err as { permanent?: unknown }).permanent === true;
}

export function findChannel(channels: readonly Channel[], jid: string): Channel | undefined {
  return channels.find((c) => c.ownsJid(jid));
}

export type Deliver = (req: DeliverRequest) => Promise<DeliverOutcome>;

export interface Delivery {
  /** Save a reply (or find it by key) and send it; resolves with the first attempt's outcome. */
  deliver: Deliver;
  /**
   * Send rows already saved (a turn's replies): in the background, in order per chat. Resolves
   * once what was due for those chats has been handed to the channels (or must wait).
   */
  enqueue(rows: readonly OutboxRow[]): Promise<void>;
  /** Start-up: settle rows a dead process was sending, then send everything due. */
  recover(): void;
  /** Stop timers; resolves when the sends in progress have finished. */
  stop(): Promise<void>;
}

type Waiter = { resolve(o: DeliverOutcome): void; reject(e: unknown): void; attempts: number };

export function createDelivery(deps: DeliveryDeps): Delivery {
  const { store, events } = deps;
  const log = deps.log.withTag("delivery");
  const now = deps.now ?? Date.now;
  const backoff = deps.backoffMs ?? DEFAULT_BACKOFF_MS;
  const awaitAttempts = deps.awaitAttempts ?? 3;
  const policy = deps.unknownFate ?? "skip";
  const chains = new Map<string, Promise<void>>();
  const waiters = new Map<number, Waiter>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const warnedNoChannel = new Set<string>();
  /** Which plugin sent a row (kept only while the row is being sent). */
  const pluginOf = new Map<number, string>();
  let stopped = false;

  const settle = (id: number, fn: (w: Waiter) => boolean) => {
    const w = waiters.get(id);
    if (w && fn(w)) waiters.delete(id);
  };

  /** The history message of a reply (same id whatever its fate, so it is stored once). */
  const history = (row: OutboxRow, at: number, channel?: string) =>
    store.messages.insert(
      {
        id: `out:${row.key}`,
        chatJid: row.chatJid,
        sender: "assistant",
        senderName: deps.assistantName,
        content: row.text,
        timestamp: at,
        isFromMe: true,
        isBot: true,
        threadId: row.threadId ?? undefined,
        replyToId: row.replyToId ?? undefined,
      },
      at,
      channel,
    );
  const saveSent = store.db.transaction((row: OutboxRow, at: number, channel: string) => {
    store.outbox.markSent(row.id, at);
    return history(row, at, channel);
  });
  /** The send was cut off: most likely the platform has it (the window is one call), so the
   *  history shows it; the outbox says its fate is unknown. */
  const saveUnknown = store.db.transaction((row: OutboxRow, note: string, at: number, channel?: string) => {
    store.outbox.markUnknown(row.id, note);
    return history(row, at, channel);
  });

  function schedule(jid: string, at: number): void {
    if (stopped) return;
    clearTimeout(timers.get(jid));
    const t = setTimeout(
      () => {
        timers.delete(jid);
        kick(jid);
      },
      Math.max(0, at - now()),
    );
    t.unref?.();
    timers.set(jid, t);
  }

  /** One send of one row. Returns false when the chat must wait (row not done). */
  async function sendRow(row: OutboxRow): Promise<boolean> {
    const channel = findChannel(deps.channels(), row.chatJid);
    if (!channel) {
      if (!warnedNoChannel.has(row.chatJid)) {
        warnedNoChannel.add(row.chatJid);
        log.warn("no enabled channel owns this chat; replies wait for it", { chatJid: row.chatJid });
      }
      store.outbox.retryAt(row.id, new NoChannelError(row.chatJid).message, now() + 60_000);
      settle(row.id, (w) => {
        w.reject(new NoChannelError(row.chatJid));
        return true;
      });
      schedule(row.chatJid, now() + 60_000);
      return false;
    }
    let text = row.text;
    if (deps.hooks) {
      const plugin = pluginOf.get(row.id);
      const r = await deps.hooks.messageSending({
        chatJid: row.chatJid,
        text,
        source: row.source,
        ...(plugin ? { plugin } : {}),
      });
      if (r.action === "cancel") {
        store.outbox.markCancelled(row.id, `cancelled by plugin ${r.plugin}: ${r.reason}`);
        log.info("reply cancelled by a plugin", { chatJid: row.chatJid, plugin: r.plugin, reason: r.reason });
        settle(row.id, (w) => {
          w.resolve({ status: "cancelled", seq: null });
          return true;
        });
        return true;
      }
      text = r.text;
    }
    store.outbox.markSending(row.id);
    const attempt = row.attempts + 1;
    try {
      await channel.send(row.chatJid, text, {
        threadId: row.threadId ?? undefined,
        replyToId: row.replyToId ?? undefined,
        idempotencyKey: row.key,
        fromChunk: row.chunksDone,
        onChunkSent: (i) => store.outbox.chunksDone(row.id, i + 1),
      });
    } catch (err) {
      const permanent = isPermanentSendError(err);
      const delay = backoff[attempt - 1];
      if (permanent || delay === undefined) {
        const error = permanent
          ? errorMessage(err)
          : `gave up after ${attempt} attempts: ${errorMessage(err)}`;
        store.outbox.markFailed(row.id, error);
        log.warn("reply not delivered", { chatJid: row.chatJid, key: row.key, error });
        events.emit("message.failed", { chatJid: row.chatJid, error, channel: channel.name, fate: "failed" });
        settle(row.id, (w) => {
          w.reject(new DeliveryError(row.chatJid, channel.name, err, permanent));
          return true;
        });
        return true;
      }
      store.outbox.retryAt(row.id, errorMessage(err), now() + delay);
      log.warn("send failed, will retry", {
        chatJid: row.chatJid,
        attempt,
        retryInMs: delay,
        error: errorMessage(err),
      });
      settle(row.id, (w) => {
        if (attempt < w.attempts) return false;
        w.resolve({ status: "queued", seq: null });
        return true;
      });
      schedule(row.chatJid, now() + delay);
      return false;
    }
    const at = now();
    const sent = { ...row, text };
    let seq: number | null = null;
    try {
      seq = saveSent(sent, at, channel.name);
    } catch (err) {
      // Sent, but the store refused the record (disk full, busy): the row stays `sending`, which a
      // restart treats as a fate unknown; retry the bookkeeping, never the send.
      log.error("reply sent but not recorded; retrying the record", {
        key: row.key,
        error: errorMessage(err),
      });
      for (const wait of [200, 1_000, 5_000]) {
        await Bun.sleep(wait);
        try {
          seq = saveSent(sent, now(), channel.name);
          break;
        } catch {
          // keep trying
        }
      }
    }
    if (seq !== null)
      events.emit("message.stored", {
        seq,
        chatJid: row.chatJid,
        sender: "assistant",
        senderName: deps.assistantName,
        content: text,
        timestamp: at,
        isFromMe: true,
        channel: channel.name,
      });
    events.emit("message.sent", { chatJid: row.chatJid, text, channel: channel.name, idemKey: row.key });
    deps.hooks?.messageSent({ chatJid: row.chatJid, text, channel: channel.name });
    settle(row.id, (w) => {
      w.resolve({ status: "sent", seq });
      return true;
    });
    pluginOf.delete(row.id);
    return true;
  }

  /** Send what is due for one chat, in order; a row that must wait holds the ones after it. */
  async function drain(jid: string): Promise<void> {
    for (;;) {
      if (stopped) return;
      const row = store.outbox.openFor(jid).find((r) => r.status === "pending");
      if (!row) return;
      if (row.nextAttemptAt !== null && row.nextAttemptAt > now()) return schedule(jid, row.nextAttemptAt);
      if (!(await sendRow(row))) return;
    }
  }

  function kick(jid: string): Promise<void> {
    const prev = chains.get(jid) ?? Promise.resolve();
    const next = prev
      .then(() => drain(jid))
      .catch((err) => {
        log.error("delivery loop failed; retrying soon", { chatJid: jid, error: errorMessage(err) });
        schedule(jid, now() + 5_000);
      });
    chains.set(jid, next);
    void next.finally(() => {
      if (chains.get(jid) === next) chains.delete(jid);
    });
    return next;
  }

  return {
    async deliver(req) {
      const channel = findChannel(deps.channels(), req.chatJid);
      if (!channel) throw new NoChannelError(req.chatJid);
      const { row, created } = store.outbox.add(
        {
          key: req.idemKey,
          chatJid: req.chatJid,
          text: req.text,
          threadId: req.options?.threadId,
          replyToId: req.options?.replyToId,
          source: req.source ?? "api",
        },
        now(),
      );
      if (req.plugin) pluginOf.set(row.id, req.plugin);
      if (!created && row.status !== "pending") {
        log.debug("reply already handled, not sending again", { key: row.key, status: row.status });
        return { status: "duplicate", seq: null };
      }
      const outcome = new Promise<DeliverOutcome>((resolve, reject) => {
        waiters.set(row.id, { resolve, reject, attempts: awaitAttempts });
      });
      kick(req.chatJid);
      return outcome;
    },
    async enqueue(rows) {
      await Promise.all([...new Set(rows.map((r) => r.chatJid))].map((jid) => kick(jid)));
    },
    recover() {
      for (const row of store.outbox.inFlight()) {
        const channel = findChannel(deps.channels(), row.chatJid);
        if (channel?.dedupesSends || policy === "resend") {
          log.info("re-sending a reply whose send was cut off", { key: row.key, chatJid: row.chatJid });
          store.outbox.retryAt(row.id, "re-sent after a restart", now());
        } else {
          const note =
            "the process stopped during this send; not re-sent to avoid a duplicate (delivery.unknownFate: skip)";
          saveUnknown(row, note, now(), channel?.name);
          log.warn("a reply's fate is unknown; not re-sending it", { key: row.key, chatJid: row.chatJid });
          events.emit("message.failed", {
            chatJid: row.chatJid,
            error: note,
            channel: channel?.name ?? "?",
            fate: "unknown",
          });
        }
      }
      const jids = new Set(store.outbox.due(Number.MAX_SAFE_INTEGER).map((r) => r.chatJid));
      for (const jid of jids) kick(jid);
    },
    async stop() {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      await Promise.allSettled([...chains.values()]);
    },
  };
}
