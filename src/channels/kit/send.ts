/**
 * Sending a reply in chunks, the same way in every adapter: resume at `fromChunk`, report each
 * accepted chunk with `onChunkSent`, and derive per-chunk idempotency keys (Discord nonces,
 * WhatsApp message ids) from the reply's stable key so a re-send after a crash carries the same.
 */
import type { SendOptions } from "../../orchestrator/channel.ts";
import { ChannelError } from "./errors.ts";

/** Send `chunks[fromChunk…]` one after another; each accepted chunk is reported before the next. */
export async function sendChunks(
  channel: string,
  chunks: readonly string[],
  options: SendOptions | undefined,
  send: (chunk: string, index: number) => Promise<void>,
): Promise<void> {
  const from = options?.fromChunk ?? 0;
  if (!Number.isInteger(from) || from < 0)
    throw new ChannelError(channel, "config", `fromChunk must be an integer ≥ 0, got ${from}`);
  for (let i = from; i < chunks.length; i++) {
    await send(chunks[i]!, i);
    options?.onChunkSent?.(i);
  }
}

/**
 * A deterministic key for chunk `index` of the reply `idempotencyKey`: `length` characters of
 * hex (or upper-case hex), the same in every process, different per chunk and per reply.
 */
export function chunkKey(
  idempotencyKey: string,
  index: number,
  length: number,
  options: { upper?: boolean } = {},
): string {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(`${idempotencyKey}\u0000${index}`);
  const hex = hasher.digest("hex").slice(0, Math.min(64, length));
  return options.upper ? hex.toUpperCase() : hex;
}
