/**
 * The streaming input of one warm session: the first prompt, then each follow-up as it
 * arrives. It ends (so the SDK finishes and the process exits) when `_close` was seen and no
 * turn is running, when nothing arrived for `idleTimeoutMs` while idle, or on `end()`.
 * Ending only while idle matters: the SDK's in-process MCP server talks over the CLI's stdin,
 * so closing the input in the middle of a turn would cut a running tool call off.
 */
import type { SDKUserMessage } from "@anthropic-ai/claude-agent-sdk";

export type EndReason = "close" | "idle" | "ended";

export interface SessionInputOptions {
  prompt: string;
  idleTimeoutMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface SessionInput {
  messages: AsyncIterable<SDKUserMessage>;
  /** A follow-up to send into the session. */
  push(text: string): void;
  /** `_close` was seen: end after the running turn. */
  requestClose(): void;
  /** The SDK produced a result; `queued` is its queued_turn_count when present. */
  turnDone(queued?: number): void;
  /** End now (e.g. on a fatal error or a signal). */
  end(): void;
  /** Why the input ended, once it has. */
  readonly endReason: EndReason | undefined;
  /** Turns sent but not yet answered. */
  readonly pending: number;
}

export function userMessage(text: string): SDKUserMessage {
  return { type: "user", message: { role: "user", content: text }, parent_tool_use_id: null, session_id: "" };
}

export function createSessionInput(options: SessionInputOptions): SessionInput {
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  const queue: string[] = [options.prompt];
  let pending = 0;
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

  /** Re-evaluates the end conditions and the idle timer after any state change. */
  const settle = () => {
    if (endReason) return;
    const idle = pending === 0 && queue.length === 0;
    if (idle && closeRequested) return finish("close");
    if (idle && options.idleTimeoutMs && options.idleTimeoutMs > 0) {
      if (idleTimer === undefined) {
        idleTimer = setTimer(() => {
          idleTimer = undefined;
          if (pending === 0 && queue.length === 0) finish("idle");
        }, options.idleTimeoutMs);
      }
    } else if (idleTimer !== undefined) {
      clearTimer(idleTimer);
      idleTimer = undefined;
    }
  };

  async function* generate(): AsyncGenerator<SDKUserMessage> {
    while (true) {
      const text = queue.shift();
      if (text !== undefined) {
        pending++;
        settle();
        yield userMessage(text);
        continue;
      }
      if (endReason) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  }

  return {
    messages: generate(),
    push(text) {
      if (endReason) return;
      queue.push(text);
      settle();
      signal();
    },
    requestClose() {
      closeRequested = true;
      settle();
    },
    turnDone(queued) {
      pending = queued === 0 ? 0 : Math.max(0, pending - 1);
      settle();
    },
    end() {
      finish("ended");
    },
    get endReason() {
      return endReason;
    },
    get pending() {
      return pending;
    },
  };
}
