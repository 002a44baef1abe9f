/**
 * Outgoing text splitting shared by every platform adapter: cut a reply into chunks no longer
 * than the platform's limit, preferring paragraph, then line, then word boundaries, never
 * splitting a surrogate pair, and keeping fenced code blocks intact when they fit. A code block
 * that must be split is closed at the end of one chunk and reopened (same fence, same language)
 * at the start of the next, so every chunk renders on its own.
 *
 * Lengths are counted in UTF-16 code units (JavaScript string length), which is what Telegram
 * (4096), Discord (2000) and Slack (4000) count against, or a conservative bound of it.
 */

/** Platform limits for one message's text. */
export const MESSAGE_LIMITS = { telegram: 4096, discord: 2000, slack: 4000 } as const;

interface Segment {
  text: string;
  /** Opening fence line (e.g. "```ts") when this segment is a fenced code block. */
  fence?: string;
  /** Closing fence marker ("```" / "~~~…"); absent for a block left unclosed by the author. */
  close?: string;
}

const FENCE_RE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** Split text into prose and fenced-code segments, line-based (CommonMark-ish fences). */
function segments(text: string): Segment[] {
  const lines = text.split("\n");
  const out: Segment[] = [];
  let prose: string[] = [];
  let i = 0;
  const flushProse = () => {
    if (prose.length > 0) out.push({ text: prose.join("\n") });
    prose = [];
  };
  while (i < lines.length) {
    const line = lines[i]!;
    const open = FENCE_RE.exec(line);
    if (!open || (open[1]!.startsWith("`") && open[2]!.includes("`"))) {
      prose.push(line);
      i++;
      continue;
    }
    const marker = open[1]!;
    let end = -1;
    for (let j = i + 1; j < lines.length; j++) {
      const m = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[j]!);
      if (m && m[1]![0] === marker[0] && m[1]!.length >= marker.length) {
        end = j;
        break;
      }
    }
    flushProse();
    if (end === -1) {
      out.push({ text: lines.slice(i).join("\n"), fence: line.trimStart() });
      i = lines.length;
    } else {
      out.push({
        text: lines.slice(i, end + 1).join("\n"),
        fence: line.trimStart(),
        close: lines[end]!.trim(),
      });
      i = end + 1;
    }
  }
  flushProse();
  return out;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Largest cut ≤ max that does not fall between the halves of a surrogate pair. */
function safeCut(text: string, max: number): number {
  if (max >= text.length) return text.length;
  let cut = max;
  if (cut > 0 && isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
  return cut > 0 ? cut : Math.min(2, text.length);
}

/**
 * Where to cut `text` so the head is ≤ max: last paragraph break, else line break, else
 * whitespace, else a hard (surrogate-safe) cut. Returns [head, rest] with the separator dropped.
 */
function cutProse(text: string, max: number): [string, string] {
  const window = text.slice(0, max + 1);
  const minUseful = Math.floor(max / 4);
  for (const sep of ["\n\n", "\n"]) {
    const at = window.lastIndexOf(sep, max);
    if (at >= minUseful && at > 0) return [text.slice(0, at), text.slice(at + sep.length)];
  }
  for (let at = Math.min(max, text.length - 1); at >= minUseful && at > 0; at--) {
    const c = text[at]!;
    if (c === " " || c === "\t" || c === "\n") return [text.slice(0, at), text.slice(at + 1)];
  }
  const cut = safeCut(text, max);
  return [text.slice(0, cut), text.slice(cut)];
}

/** Split prose alone into pieces ≤ limit. */
function splitProse(text: string, limit: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const [head, tail] = cutProse(rest, limit);
    if (head.trim().length > 0) out.push(head.replace(/\s+$/, ""));
    rest = tail.replace(/^\n+/, "");
  }
  if (rest.trim().length > 0) out.push(rest.replace(/\s+$/, ""));
  return out;
}

/**
 * Split a code block too big for one chunk: each piece is `fence\n<body part>\nclose`.
 * Body parts break at line boundaries, or hard-cut a single overlong line.
 */
function splitCode(seg: Segment, limit: number): string[] {
  const fence = seg.fence!;
  const close = seg.close ?? fence.match(/^(`{3,}|~{3,})/)![1]!;
  const lines = seg.text.split("\n");
  const bodyLines = lines.slice(1, seg.close ? -1 : undefined);
  const overhead = fence.length + close.length + 2;
  const room = limit - overhead;
  if (room < 1) {
    // A fence longer than the limit: nothing sensible to keep; fall back to prose splitting.
    return splitProse(seg.text, limit);
  }
  const out: string[] = [];
  let current: string[] = [];
  let size = 0;
  const flush = () => {
    out.push(`${fence}\n${current.join("\n")}\n${close}`);
    current = [];
    size = 0;
  };
  for (let line of bodyLines) {
    while (line.length > room) {
      if (current.length > 0) flush();
      const cut = safeCut(line, room);
      current.push(line.slice(0, cut));
      flush();
      line = line.slice(cut);
    }
    const add = current.length === 0 ? line.length : line.length + 1;
    if (size + add > room) flush();
    size += current.length === 0 ? line.length : line.length + 1;
    current.push(line);
  }
  if (current.length > 0) flush();
  return out;
}

/**
 * Split `text` into chunks of at most `limit` UTF-16 code units.
 * Returns [] for empty / whitespace-only text.
 */
export function splitMessage(text: string, limit: number): string[] {
  if (!Number.isInteger(limit) || limit < 2) throw new RangeError(`limit must be ≥ 2, got ${limit}`);
  if (text.trim().length === 0) return [];
  if (text.length <= limit) return [text];

  const chunks: string[] = [];
  let current = "";
  const push = (piece: string) => {
    const joined = current.length === 0 ? piece : `${current}\n\n${piece}`;
    if (joined.length <= limit) {
      current = joined;
      return;
    }
    if (current.length > 0) chunks.push(current);
    current = piece;
  };

  for (const seg of segments(text)) {
    const body = seg.fence ? seg.text : seg.text.replace(/^\n+|\s+$/g, "");
    if (body.length === 0) continue;
    if (seg.fence) {
      if (body.length <= limit) {
        // Keep the whole block together; append to the current chunk with a single newline
        // if that fits, else start a new chunk.
        const joined = current.length === 0 ? body : `${current}\n${body}`;
        if (joined.length <= limit) current = joined;
        else {
          if (current.length > 0) chunks.push(current);
          current = body;
        }
      } else {
        if (current.length > 0) chunks.push(current);
        current = "";
        const parts = splitCode(seg, limit);
        for (let k = 0; k < parts.length - 1; k++) chunks.push(parts[k]!);
        current = parts.at(-1) ?? "";
      }
      continue;
    }
    // Prose: paragraphs are packed greedily; an overlong paragraph is split on its own.
    for (const para of body.split(/\n{2,}/)) {
      if (para.trim().length === 0) continue;
      if (para.length <= limit) {
        push(para);
        continue;
      }
      const pieces = splitProse(para, limit);
      for (const piece of pieces) push(piece);
    }
  }
  if (current.trim().length > 0) chunks.push(current);
  return chunks;
}
