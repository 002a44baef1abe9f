/**
 * WeCom counts message limits in UTF-8 bytes (stream content 20,480; app text/markdown 2,048),
 * not characters: split with the kit's splitter, then re-split any chunk still over in bytes
 * with a proportionally smaller limit. Deterministic, so `fromChunk` names the same chunk on a
 * re-send.
 */
import { splitMessage } from "../kit/chunk.ts";

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

export function splitBytes(text: string, maxBytes: number): string[] {
  const out: string[] = [];
  for (const chunk of splitMessage(text, maxBytes)) {
    let pieces = [chunk];
    let limit = maxBytes;
    while (pieces.some((p) => utf8Length(p) > maxBytes) && limit > 8) {
      const worst = Math.max(...pieces.map(utf8Length));
      limit = Math.max(8, Math.floor((limit * maxBytes) / worst) - 4);
      pieces = splitMessage(chunk, limit);
    }
    out.push(...pieces);
  }
  return out;
}
