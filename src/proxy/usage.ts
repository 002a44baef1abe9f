/**
 * Token usage read from Anthropic Messages responses as they pass through the proxy: SSE events
 * (`message_start` carries input/cache counts, `message_delta` the cumulative output) or a plain
 * JSON message. Chunks are forwarded untouched; only lines that mention usage are parsed.
 */

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

interface ApiUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

const num = (x: unknown): number | undefined => (typeof x === "number" && Number.isFinite(x) ? x : undefined);

/** Merges an API usage object into `u` (fields present in later events are cumulative). */
function merge(u: TokenUsage, api: ApiUsage | undefined): boolean {
  if (!api || typeof api !== "object") return false;
  u.inputTokens = num(api.input_tokens) ?? u.inputTokens;
  u.outputTokens = num(api.output_tokens) ?? u.outputTokens;
  u.cacheReadTokens = num(api.cache_read_input_tokens) ?? u.cacheReadTokens;
  u.cacheWriteTokens = num(api.cache_creation_input_tokens) ?? u.cacheWriteTokens;
  return true;
}

const empty = (): TokenUsage => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
});

/**
 * A pass-through stream that watches the bytes for usage and calls `record` exactly once: at
 * `message_stop`, or at the end of the stream if usage was seen but no stop arrived.
 */
export function usageTap(
  kind: "sse" | "json",
  record: (u: TokenUsage) => void,
): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const usage = empty();
  let seen = false;
  let recorded = false;
  let pending = "";
  const JSON_CAP = 4 * 1024 * 1024;

  const done = () => {
    if (!recorded && seen) {
      recorded = true;
      record({ ...usage });
    }
  };

  const sseLine = (line: string) => {
    if (!line.startsWith("data:") || (!line.includes('"usage"') && !line.includes("message_stop"))) return;
    let ev: { type?: string; message?: { usage?: ApiUsage }; usage?: ApiUsage };
    try {
      ev = JSON.parse(line.slice(5));
    } catch {
      return;
    }
    if (ev.type === "message_start") seen = merge(usage, ev.message?.usage) || seen;
    else if (ev.type === "message_delta") seen = merge(usage, ev.usage) || seen;
    else if (ev.type === "message_stop") done();
  };

  return new TransformStream({
    transform(chunk, controller) {
      controller.enqueue(chunk);
      if (recorded) return;
      pending += decoder.decode(chunk, { stream: true });
      if (kind === "json") {
        if (pending.length > JSON_CAP) pending = "";
        return;
      }
      let start = 0;
      let nl = pending.indexOf("\n", start);
      while (nl >= 0) {
        sseLine(pending.slice(start, nl).trimEnd());
        start = nl + 1;
        nl = pending.indexOf("\n", start);
      }
      pending = pending.slice(start);
    },
    flush() {
      pending += decoder.decode();
      if (kind === "json") {
        try {
          seen = merge(usage, (JSON.parse(pending) as { usage?: ApiUsage }).usage) || seen;
        } catch {
          // not a message body (error, truncated): nothing to count
        }
      } else if (pending) sseLine(pending.trimEnd());
      done();
    },
  });
}
