/**
 * Typing indicators that platforms expire after a few seconds (Telegram ~5 s, Discord ~10 s):
 * refreshed on a timer while on, and given up after `maxMs` in case nobody turns them off.
 */
export interface TypingRefresher {
  /** Send now and keep refreshing until `stop(jid)`. */
  start(jid: string): Promise<void>;
  stop(jid: string): void;
  stopAll(): void;
}

export function createTypingRefresher(opts: {
  /** Best effort: must not throw. */
  send: (jid: string) => Promise<void>;
  refreshMs: number;
  maxMs?: number;
}): TypingRefresher {
  const maxMs = opts.maxMs ?? 10 * 60_000;
  const timers = new Map<string, ReturnType<typeof setInterval>>();
  const stop = (jid: string) => {
    const t = timers.get(jid);
    if (t) clearInterval(t);
    timers.delete(jid);
  };
  return {
    async start(jid) {
      stop(jid);
      await opts.send(jid);
      const until = Date.now() + maxMs;
      const timer = setInterval(() => {
        if (Date.now() > until) stop(jid);
        else void opts.send(jid);
      }, opts.refreshMs);
      timer.unref?.();
      timers.set(jid, timer);
    },
    stop,
    stopAll() {
      for (const jid of [...timers.keys()]) stop(jid);
    },
  };
}
