/**
 * Outgoing text → Feishu message bodies. Markdown goes out as an interactive card with one
 * `markdown` element (Feishu renders bold, italics, links, lists and code there; headings are
 * turned into bold lines, which card markdown lacks); plain prose goes out as `text`. Long replies
 * are split at the platform's request-body limits — 150 KB for text, 30 KB for cards and posts
 * (error 230025) — measured on the encoded body, so CJK text and escaping are counted exactly.
 */
import { splitMessage } from "../kit/index.ts";

/** Request-body limits from the send-message API reference. */
export const BODY_LIMITS = { text: 150 * 1024, interactive: 30 * 1024 } as const;
/** Chunk sizes in characters; a chunk whose encoded body is still too big is split again. */
export const CHUNK_CHARS = { text: 18_000, interactive: 4_000 } as const;

export type MsgType = "text" | "interactive";

export interface PlannedMessage {
  msgType: MsgType;
  content: string;
  /** The chunk's plain text, for a text fallback if the card is refused. */
  text: string;
}

const MARKDOWN_RE =
  /(^|\n)\s{0,3}(#{1,6}\s|[-*+]\s|\d+\.\s|>\s|```|~~~)|\*\*[^*\n]+\*\*|`[^`\n]+`|\[[^\]\n]+\]\([^)\s]+\)|\|\s*:?-{3,}/;

export function looksLikeMarkdown(text: string): boolean {
  return MARKDOWN_RE.test(text);
}

/** Card markdown has no headings: `# Title` → `**Title**` (outside code blocks). */
export function cardMarkdown(text: string): string {
  let inFence = false;
  return text
    .split("\n")
    .map((line) => {
      if (/^\s{0,3}(```|~~~)/.test(line)) inFence = !inFence;
      if (inFence) return line;
      const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
      return h ? `**${h[1]}**` : line;
    })
    .join("\n");
}

export function textContent(text: string): string {
  return JSON.stringify({ text });
}

export function cardContent(markdown: string): string {
  return JSON.stringify({
    config: { wide_screen_mode: true },
    elements: [{ tag: "markdown", content: cardMarkdown(markdown) }],
  });
}

/** Bytes of the request body `{"receive_id":…,"msg_type":…,"content":…,"uuid":…}` (upper bound). */
function bodyBytes(msgType: MsgType, content: string): number {
  // receive_id (≤ 64) + uuid (≤ 50) + keys and quotes: 200 bytes of headroom.
  return Buffer.byteLength(JSON.stringify({ msg_type: msgType, content })) + 200;
}

function fit(text: string, msgType: MsgType, build: (t: string) => string): string[] {
  const out: string[] = [];
  for (const chunk of splitMessage(text, CHUNK_CHARS[msgType])) {
    if (bodyBytes(msgType, build(chunk)) <= BODY_LIMITS[msgType] || chunk.length < 2) out.push(chunk);
    else out.push(...fitSmaller(chunk, msgType, build));
  }
  return out;
}

function fitSmaller(chunk: string, msgType: MsgType, build: (t: string) => string): string[] {
  const half = Math.max(2, Math.floor(chunk.length / 2));
  const out: string[] = [];
  for (const piece of splitMessage(chunk, half)) {
    if (bodyBytes(msgType, build(piece)) <= BODY_LIMITS[msgType] || piece.length < 2) out.push(piece);
    else out.push(...fitSmaller(piece, msgType, build));
  }
  return out;
}

/** Split and encode a reply. `format: "text"` never sends cards. */
export function planMessages(text: string, format: "auto" | "text"): PlannedMessage[] {
  if (format === "auto" && looksLikeMarkdown(text)) {
    return fit(text, "interactive", cardContent).map((t) => ({
      msgType: "interactive",
      content: cardContent(t),
      text: t,
    }));
  }
  return fit(text, "text", textContent).map((t) => ({ msgType: "text", content: textContent(t), text: t }));
}

/**
 * The `uuid` for chunk `index` of a reply with idempotency key `key`: Feishu sends at most one
 * message per uuid within one hour. At most 50 characters, as the API requires.
 */
export function chunkUuid(key: string, index: number): string {
  const suffix = `-${index}`;
  const raw = `${key}${suffix}`;
  if (raw.length <= 50 && /^[\w.:-]+$/.test(raw)) return raw;
  const digest = new Bun.CryptoHasher("sha256")
    .update(key)
    .digest("hex")
    .slice(0, 50 - suffix.length);
  return `${digest}${suffix}`;
}
