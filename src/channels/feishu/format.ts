/**
 * Outgoing text → Feishu message bodies. Markdown goes out as a rich-text `post` whose one `md`
 * element Feishu renders natively (bold, italics, links, lists, quotes, code blocks, headings) —
 * what the official SDK's own outbound sender does; H1–H3 are demoted to H4/H5, which otherwise
 * render oversized. Plain prose goes out as `text`. Long replies are split at the request-body
 * limits — 150 KB for text, 30 KB for posts and cards (error 230025) — measured on the encoded
 * body, so CJK text and escaping are counted exactly; Markdown chunks are kept to 3,500 characters
 * (the SDK's chunk size) so each renders as one readable message.
 */
import { splitMessage } from "../kit/index.ts";

/** Request-body limits from the send-message API reference. */
export const BODY_LIMITS = { text: 150 * 1024, post: 30 * 1024 } as const;
/** Chunk sizes in characters; a chunk whose encoded body is still too big is split again. */
export const CHUNK_CHARS = { text: 18_000, post: 3_500 } as const;

export type MsgType = "text" | "post";

export interface PlannedMessage {
  msgType: MsgType;
  content: string;
  /** The chunk's plain text, for a text fallback if the post is refused. */
  text: string;
}

const MARKDOWN_RE =
  /(^|\n)\s{0,3}(#{1,6}\s|[-*+]\s|\d+\.\s|>\s|```|~~~)|\*\*[^*\n]+\*\*|`[^`\n]+`|\[[^\]\n]+\]\([^)\s]+\)|\|\s*:?-{3,}/;

export function looksLikeMarkdown(text: string): boolean {
  return MARKDOWN_RE.test(text);
}

/** Demote H1–H3 (outside code blocks): `#` → `####`, `##`…`######` → `#####`. */
export function postMarkdown(text: string): string {
  if (!/^#{1,3} /m.test(text)) return text;
  let inFence = false;
  return text
    .split("\n")
    .map((line) => {
      if (/^\s{0,3}(```|~~~)/.test(line)) inFence = !inFence;
      if (inFence) return line;
      if (/^#{2,6} /.test(line)) return line.replace(/^#{2,6} /, "##### ");
      if (/^# /.test(line)) return line.replace(/^# /, "#### ");
      return line;
    })
    .join("\n");
}

export function textContent(text: string): string {
  return JSON.stringify({ text });
}

export function postContent(markdown: string): string {
  return JSON.stringify({ zh_cn: { title: "", content: [[{ tag: "md", text: postMarkdown(markdown) }]] } });
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

/** Split and encode a reply. `format: "text"` never sends rich text. */
export function planMessages(text: string, format: "auto" | "text"): PlannedMessage[] {
  if (format === "auto" && looksLikeMarkdown(text)) {
    return fit(text, "post", postContent).map((t) => ({ msgType: "post", content: postContent(t), text: t }));
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
