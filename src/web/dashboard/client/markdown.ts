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

export function parseInline(s: string): Inline[] {
  const out: Inline[] = [];
  let text = "";
  const flush = () => {
    if (text) out.push({ t: "text", v: text });
    text = "";
  };
  let i = 0;
  while (i < s.length) {
    const rest = s.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^`([^`\n]+)`/.exec(rest))) {
      flush();
      out.push({ t: "code", v: m[1]! });
    } else if (
      (m = /^\*\*(?=\S)([\s\S]*?\S)\*\*/.exec(rest)) ||
      (!/[\p{L}\p{N}_]$/u.test(text) && (m = /^__(?=\S)([^\n]*?\S)__(?![\p{L}\p{N}_])/u.exec(rest)))
    ) {
      flush();
      out.push({ t: "strong", c: parseInline(m[1]!) });
    } else if (
      !/[\p{L}\p{N}_*]$/u.test(text) &&
      ((m = /^\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\p{L}\p{N}*])/u.exec(rest)) ||
        (m = /^_(?=[^\s_])([^_\n]*?[^\s_])_(?![\p{L}\p{N}_])/u.exec(rest)))
    ) {
      flush();
      out.push({ t: "em", c: parseInline(m[1]!) });
    } else if ((m = /^\[([^\]\n]+)\]\(([^)\s]+)\)/.exec(rest)) && SAFE_URL.test(m[2]!)) {
      flush();
      out.push({ t: "link", href: m[2]!, c: parseInline(m[1]!) });
    } else if ((m = /^https?:\/\/[^\s<>"'()]+[^\s<>"'().,;:!?]/.exec(rest)) && !/[\p{L}\p{N}]$/u.test(text)) {
      flush();
      out.push({ t: "link", href: m[0], c: [{ t: "text", v: m[0] }] });
    } else {
      text += s[i];
      i++;
      continue;
    }
    i += m[0].length;
  }
  flush();
  return out;
}

export function parseMarkdown(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, "\n").split("\n");
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    let m: RegExpExecArray | null;
    if (/^\s*```/.test(line)) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !/^\s*```\s*$/.test(lines[i]!)) body.push(lines[i++]!);
      i++; // the closing fence (or the end)
      blocks.push({ t: "pre", v: body.join("\n") });
    } else if ((m = /^(#{1,6})\s+(.*)$/.exec(line))) {
      blocks.push({ t: "h", level: Math.min(m[1]!.length + 2, 6), c: parseInline(m[2]!.trim()) });
      i++;
    } else if (/^\s*([-*+]|\d{1,9}[.)])\s+/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items: Inline[][] = [];
      while (
        i < lines.length &&
        (m = /^\s*(?:[-*+]|\d{1,9}[.)])\s+(.*)$/.exec(lines[i]!)) &&
        /^\s*\d/.test(lines[i]!) === ordered
      ) {
        items.push(parseInline(m[1]!));
        i++;
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
