/**
 * The one polling wait of the test suite: poll `fn` until it returns something truthy, with a
 * deadline (never a fixed sleep). `until(fn, "what")`, `until(fn, "what", 20_000)` or
 * `until(fn, { what, timeoutMs, intervalMs })`; resolves with the truthy value.
 */
export interface UntilOptions {
  what?: string;
  /** Default 10 s (a loaded CI machine). */
  timeoutMs?: number;
  intervalMs?: number;
}

export async function until<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string | UntilOptions = {},
  timeoutMs?: number,
): Promise<T> {
  const opts: UntilOptions = typeof what === "string" ? { what, timeoutMs } : what;
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? "condition"}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 5));
  }
}
