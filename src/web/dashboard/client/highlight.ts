/**
 * Search snippets come from SQLite FTS5 `snippet()` with `[` and `]` around each hit and `…`
 * where text was cut. A message may itself contain `[` or `]`, so the markers are found by
 * aligning the snippet with the message's own text: a character that the text has at that
 * point is text; a `[` before a word character the text has next, or a `]` after a word
 * character, is a marker. When the snippet cannot be aligned, nothing is highlighted rather
 * than the wrong words.
 */

export interface Segment {
  text: string;
  mark: boolean;
}

const WORD = /[\p{L}\p{N}_]/u;

function stripMarkers(s: string): string {
  return s.replace(/[[\]]/g, "");
}

/** Splits `snippet` into plain and highlighted segments, using `content` to tell markers from text. */
export function highlightSegments(snippet: string, content: string): Segment[] {
  let body = snippet;
  const lead = body.startsWith("…") && !content.startsWith("…") ? "…" : "";
  if (lead) body = body.slice(1);
  const tail = body.endsWith("…") && !content.endsWith("…") ? "…" : "";
  if (tail) body = body.slice(0, -1);

  // Where the snippet starts in the content: the first place where it aligns (a snippet is a
  // dozen words and a message bounded, so trying each position is cheap).
  let segments: Segment[] | null = null;
  const first = stripMarkers(body)[0];
  for (let from = 0; from < content.length && !segments; from++) {
    if (first !== undefined && content[from] !== "[" && content[from] !== first) continue;
    segments = align(body, content, from);
  }
  if (!segments) return [{ text: content, mark: false }];
  if (lead) segments.unshift({ text: lead, mark: false });
  if (tail) segments.push({ text: tail, mark: false });
  return merge(segments);
}

function align(body: string, content: string, from: number): Segment[] | null {
  const out: Segment[] = [];
  let j = from;
  let inMark = false;
  let buf = "";
  const flush = () => {
    if (buf) out.push({ text: buf, mark: inMark });
    buf = "";
  };
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    const next = body[i + 1];
    if (ch === "[" && !inMark && next !== undefined && WORD.test(content[j] ?? "") && next === content[j]) {
      flush();
      inMark = true;
      continue;
    }
    if (
      ch === "]" &&
      inMark &&
      WORD.test(content[j - 1] ?? "") &&
      (next === undefined ? true : next === content[j])
    ) {
      flush();
      inMark = false;
      continue;
    }
    if (content[j] !== ch) return null;
    buf += ch;
    j++;
  }
  if (inMark) return null;
  flush();
  return out;
}

function merge(segments: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    const last = out.at(-1);
    if (last && last.mark === s.mark) last.text += s.text;
    else if (s.text) out.push({ ...s });
  }
  return out;
}
