/**
 * The streaming input of one warm session. Inputs (the start prompt, then follow-ups) queue
 * here; the SDK gets ONE user message only while no turn is in flight — the head of the queue
 * merged with the queued inputs right behind it that share its thread key — and the ids in it
 * are the turn's inputs until its result arrives (`turnDone`). Handing the SDK a message while
 * a turn runs would let it fold that message into the running turn, and then nobody could say
 * which inputs a result answered.
 *
 * Each message carries a fresh uuid, which the CLI echoes on the result of the turn that
 * consumed it (`user_message_uuids`). A result that echoes other uuids than the turn in flight
 * (a turn the CLI started by itself) consumed nothing of ours, and our turn stays in flight; a
 * result without an echo (older CLIs) is taken as the in-flight turn's.
 *
 * The input ends (so the SDK finishes and the process exits) when close was requested and no
 * turn is running, when nothing arrived for `idleTimeoutMs` while idle, or on `end()`. Ending
 * only while idle matters: the SDK's in-process MCP server talks over the CLI's stdin, so
 * closing the input in the middle of a turn would cut a running tool call off.
 */
import { randomUUID } from "node:crypto";
import type { SDKUserMessage } from "@anthropic-ai/claude-agent-sdk";

export type EndReason = "close" | "idle" | "ended";

/** One input: its host-chosen id, its text and its thread key ("" when none). */
export interface SessionInputItem {
  id: string;
  text: string;
  thread?: string;
}

export interface SessionInputOptions {
  first: SessionInputItem;
  idleTimeoutMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface SessionInput {
  messages: AsyncIterable<SDKUserMessage>;
  /** Queues a follow-up; returns false when the input has already ended (it is dropped). */
  push(item: SessionInputItem): boolean;
  /** End after the running turn (and the inputs still queued). */
  requestClose(): void;
  /**
   * The SDK produced a result, echoing `echoed` (its user_message_uuids) when the CLI does: the
   * ids that turn consumed ([] when it was not the turn in flight).
   */
  turnDone(echoed?: readonly string[]): string[];
  /** End now (e.g. on a signal, or when the host is gone). */
  end(): void;
  /** Why the input ended, once it has. */
  readonly endReason: EndReason | undefined;
  /** Ids of the turn in flight; undefined while idle. */
  readonly inFlight: readonly string[] | undefined;
  /** The uuid of the message in flight (what the CLI echoes on its result). */
  readonly inFlightUuid: string | undefined;
  /** Inputs waiting for a turn. */
  readonly queued: number;
}

export function userMessage(
  text: string,
  uuid: `${string}-${string}-${string}-${string}-${string}` = randomUUID(),
): SDKUserMessage {
  return {
    type: "user",
    message: { role: "user", content: text },
    parent_tool_use_id: null,
    session_id: "",
    uuid,
  };
}

/** Takes the next turn off the queue: the head plus the same-thread inputs right behind it. */
export function takeTurn(queue: SessionInputItem[]): { ids: string[]; text: string } | undefined {
  const head = queue.shift();
  if (!head) return undefined;
  const thread = head.thread ?? "";
  const items = [head];
  while (queue.length > 0 && (queue[0]?.thread ?? "") === thread)
    items.push(queue.shift() as SessionInputItem);
  return { ids: items.map((i) => i.id), text: items.map((i) => i.text).join("\n\n") };
}

export function createSessionInput(options: SessionInputOptions): SessionInput {
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  const queue: SessionInputItem[] = [options.first];
  let inFlight: { ids: string[]; uuid: ReturnType<typeof randomUUID> } | undefined;
  let closeRequested = false;
  let endReason: EndReason | undefined;
  let idleTimer: unknown;
  let wake: (() => void) | undefined;

  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const finish = (reason: EndReason) => {
    if (endReason) return;
    endReason = reason;
    if (idleTimer !== undefined) clearTimer(idleTimer);
    idleTimer = undefined;
    signal();
  };

  const idle = () => inFlight === undefined && queue.length === 0;

  /** Re-evaluates the end conditions and the idle timer after any state change. */
  const settle = () => {
    if (endReason) return;
    if (idle() && closeRequested) return finish("close");
    if (idle() && options.idleTimeoutMs && options.idleTimeoutMs > 0) {
      idleTimer ??= setTimer(() => {
        idleTimer = undefined;
        if (idle()) finish("idle");
      }, options.idleTimeoutMs);
    } else if (idleTimer !== undefined) {
      clearTimer(idleTimer);
      idleTimer = undefined;
    }
  };

  async function* generate(): AsyncGenerator<SDKUserMessage> {
    while (true) {
      if (endReason) return;
      const turn = inFlight === undefined ? takeTurn(queue) : undefined;
      if (turn) {
        inFlight = { ids: turn.ids, uuid: randomUUID() };
        settle();
        yield userMessage(turn.text, inFlight.uuid);
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  }

  return {
    messages: generate(),
    push(item) {
      if (endReason) return false;
      queue.push(item);
      settle();
      signal();
      return true;
    },
    requestClose() {
      closeRequested = true;
      settle();
    },
    turnDone(echoed) {
      if (inFlight && echoed && echoed.length > 0 && !echoed.includes(inFlight.uuid)) return [];
      const ids = inFlight?.ids ?? [];
      inFlight = undefined;
      settle();
      signal();
      return ids;
    },
    end() {
      finish("ended");
    },
    get endReason() {
      return endReason;
    },
    get inFlight() {
      return inFlight?.ids;
    },
    get inFlightUuid() {
      return inFlight?.uuid;
    },
    get queued() {
      return queue.length;
    },
  };
}
