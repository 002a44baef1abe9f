/**
 * Markdown for agent replies, safely: the text is parsed into a small tree (paragraphs,
 * headings, lists, quotes, code blocks; bold, italic, inline code, links) and built with DOM
 * calls. No HTML from a message is ever parsed: `<script>` stays the text "<script>", and only
 * http(s) and mailto links become links (opening in a new tab, without a referrer).
 */

export type Inline =
  | { t: "text"; v: string }
  | { t: "code"; v: string }
  | { t: "strong" | "em"; c: Inline[] }
  | { t: "link"; href: string; c: Inline[] };

export type Block =
  | { t: "p"; lines: Inline[][] }
  | { t: "h"; level: number; c: Inline[] }
  | { t: "ul"; items: Inline[][] }
  | { t: "ol"; items: Inline[][] }
  | { t: "quote"; lines: Inline[][] }
  | { t: "pre"; v: string };

const SAFE_URL = /^(https?:\/\/|mailto:)[^\s<>"']+$/i;

/** An inline rule: given the rest of the line and the text just before, a node and its length. */
type Rule = (rest: string, before: string) => { node: Inline; len: number } | null;

const WORD_END = /[\p{L}\p{N}_]$/u;

const RULES: Rule[] = [
  (rest) => {
    const m = /^`([^`\n]+)`/.exec(rest);
    return m ? { node: { t: "code", v: m[1]! }, len: m[0].length } : null;
  },
  (rest, before) => {
    const m =
      /^\*\*(?=\S)([\s\S]*?\S)\*\*/.exec(rest) ??
      (WORD_END.test(before) ? null : /^__(?=\S)([^\n]*?\S)__(?![\p{L}\p{N}_])/u.exec(rest));
    return m ? { node: { t: "strong", c: parseInline(m[1]!) }, len: m[0].length } : null;
  },
  (rest, before) => {
    // Not inside a word (snake_case, 2*3*4), as CommonMark does for `_`.
    if (/[\p{L}\p{N}_*]$/u.test(before)) return null;
    const m =
      /^\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\p{L}\p{N}*])/u.exec(rest) ??
      /^_(?=[^\s_])([^_\n]*?[^\s_])_(?![\p{L}\p{N}_])/u.exec(rest);
    return m ? { node: { t: "em", c: parseInline(m[1]!) }, len: m[0].length } : null;
  },
  (rest) => {
    const m = /^\[([^\]\n]+)\]\(([^)\s]+)\)/.exec(rest);
    return m && SAFE_URL.test(m[2]!)
      ? { node: { t: "link", href: m[2]!, c: parseInline(m[1]!) }, len: m[0].length }
      : null;
  },
  (rest, before) => {
    if (/[\p{L}\p{N}]$/u.test(before)) return null;
    const m = /^https?:\/\/[^\s<>"'()]+[^\s<>"'().,;:!?]/.exec(rest);
    return m ? { node: { t: "link", href: m[0], c: [{ t: "text", v: m[0] }] }, len: m[0].length } : null;
  },
];

export function parseInline(s: string): Inline[] {
  const out: Inline[] = [];
  let text = "";
  let i = 0;
  while (i < s.length) {
    const rest = s.slice(i);
    let hit: { node: Inline; len: number } | null = null;
    for (const rule of RULES) {
      hit = rule(rest, s.slice(Math.max(0, i - 1), i));
      if (hit) break;
    }
    if (!hit) {
      text += s[i];
      i++;
      continue;
    }
    if (text) out.push({ t: "text", v: text });
    text = "";
    out.push(hit.node);
    i += hit.len;
  }
  if (text) out.push({ t: "text", v: text });
  return out;
}

export function parseMarkdown(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, "\n").split("\n");
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (/^\s*```/.test(line)) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !/^\s*```\s*$/.test(lines[i]!)) body.push(lines[i++]!);
      i++; // the closing fence (or the end)
      blocks.push({ t: "pre", v: body.join("\n") });
    } else if (heading) {
      blocks.push({ t: "h", level: Math.min(heading[1]!.length + 2, 6), c: parseInline(heading[2]!.trim()) });
      i++;
    } else if (/^\s*([-*+]|\d{1,9}[.)])\s+/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items: Inline[][] = [];
      for (; i < lines.length; i++) {
        const item = /^\s*(?:[-*+]|\d{1,9}[.)])\s+(.*)$/.exec(lines[i]!);
        if (!item || /^\s*\d/.test(lines[i]!) !== ordered) break;
        items.push(parseInline(item[1]!));
      }
      blocks.push(ordered ? { t: "ol", items } : { t: "ul", items });
    } else if (/^\s*>/.test(line)) {
      const q: Inline[][] = [];
      while (i < lines.length && /^\s*>/.test(lines[i]!))
        q.push(parseInline(lines[i++]!.replace(/^\s*>\s?/, "")));
      blocks.push({ t: "quote", lines: q });
    } else if (!line.trim()) i++;
    else {
      const p: Inline[][] = [];
      while (
        i < lines.length &&
        lines[i]!.trim() &&
        !/^\s*(```|#{1,6}\s|>|[-*+]\s|\d{1,9}[.)]\s)/.test(lines[i]!)
      )
        p.push(parseInline(lines[i++]!));
      if (p.length === 0) p.push(parseInline(lines[i++]!));
      blocks.push({ t: "p", lines: p });
    }
  }
  return blocks;
}

function inlineNodes(items: Inline[]): Node[] {
  return items.map((n): Node => {
    if (n.t === "text") return document.createTextNode(n.v);
    if (n.t === "code") {
      const el = document.createElement("code");
      el.textContent = n.v;
      return el;
    }
    if (n.t === "link") {
      const a = document.createElement("a");
      a.href = n.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
      a.append(...inlineNodes(n.c));
      return a;
    }
    const el = document.createElement(n.t);
    el.append(...inlineNodes(n.c));
    return el;
  });
}

function lineNodes(lines: Inline[][]): Node[] {
  return lines.flatMap((l, i) =>
    i === 0 ? inlineNodes(l) : [document.createElement("br"), ...inlineNodes(l)],
  );
}

/** A `div.md` with the rendered text. */
export function renderMarkdown(src: string): HTMLElement {
  const root = document.createElement("div");
  root.className = "text md";
  for (const b of parseMarkdown(src)) {
    let el: HTMLElement;
    if (b.t === "pre") {
      el = document.createElement("pre");
      const code = document.createElement("code");
      code.textContent = b.v;
      el.append(code);
    } else if (b.t === "h") {
      el = document.createElement(`h${b.level}`);
      el.append(...inlineNodes(b.c));
    } else if (b.t === "ul" || b.t === "ol") {
      el = document.createElement(b.t);
      for (const item of b.items) {
        const li = document.createElement("li");
        li.append(...inlineNodes(item));
        el.append(li);
      }
    } else if (b.t === "quote") {
      el = document.createElement("blockquote");
      el.append(...lineNodes(b.lines));
    } else {
      el = document.createElement("p");
      el.append(...lineNodes(b.lines));
    }
    root.append(el);
  }
  return root;
}
