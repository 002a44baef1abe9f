/**
 * One status line on stderr for long steps (image builds, agent runs): redrawn in place on a
 * terminal, silent when stderr is piped (scripts get only stdout). `note` prints a lasting line.
 */

export interface Progress {
  /** Replace the status line (e.g. "agent working · 1.2k tokens"). */
  status(text: string): void;
  /** A lasting line above the status line. */
  note(text: string): void;
  /** Remove the status line. */
  clear(): void;
  readonly enabled: boolean;
}

export interface ProgressOptions {
  /** Default: process.stderr. */
  stream?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Default: whether the stream is a terminal. */
  enabled?: boolean;
  now?: () => number;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? Boolean(stream.isTTY);
  const now = options.now ?? Date.now;
  const started = now();
  let shown = false;
  let frame = 0;
  let current = "";
  let timer: ReturnType<typeof setInterval> | undefined;
  const width = () => Math.max(20, (stream.columns ?? 80) - 1);
  const draw = () => {
    const secs = ((now() - started) / 1000).toFixed(0);
    const line = `${FRAMES[frame++ % FRAMES.length]} ${current} (${secs}s)`;
    const text = line.length > width() ? `${line.slice(0, width() - 1)}…` : line;
    stream.write(`\r\x1b[2K${text}`);
    shown = true;
  };
  const clear = () => {
    if (shown) stream.write("\r\x1b[2K");
    shown = false;
  };
  return {
    enabled,
    status(text) {
      if (!enabled) return;
      current = text.replace(/\s+/g, " ").trim();
      draw();
      if (!timer) {
        timer = setInterval(draw, 120);
        (timer as { unref?: () => void }).unref?.();
      }
    },
    note(text) {
      if (!enabled) return;
      clear();
      stream.write(`${text}\n`);
      if (current) draw();
    },
    clear() {
      clearInterval(timer);
      timer = undefined;
      current = "";
      clear();
    },
  };
}

/** "1234" → "1.2k". */
export function formatTokens(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}
