/**
 * Agent Markdown → Telegram HTML (`parse_mode: "HTML"`): fenced code → <pre><code>, inline
 * code, **bold**, *italic* / _italic_, ~~strike~~, [links](https://…), and # headings as bold.
 * Everything else is escaped, so user text can never inject markup. Telegram counts its 4,096
 * limit on the text after parsing, which is never longer than the Markdown chunk it came from.
 * If Telegram still refuses the entities, the caller resends the chunk as plain text.
 */

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const escapeAttr = (s: string) => escapeHtml(s).replace(/"/g, "&quot;");

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)[^\n`]*$/;

/** Inline formatting of one line of prose (no code spans inside). */
function inline(text: string): string {
  let s = escapeHtml(text);
  // Links first, so their URLs are not touched by the emphasis rules.
  const links: string[] = [];
  s = s.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_, label: string, url: string) => {
    links.push(`<a href="${escapeAttr(url.replace(/&amp;/g, "&"))}">${label}</a>`);
    return `\u0000${links.length - 1}\u0000`;
  });
  s = s.replace(/\*\*([^*\n<>]+?)\*\*/g, "<b>$1</b>");
  s = s.replace(/(^|[^\w])__([^_\n<>]+?)__(?!\w)/g, "$1<b>$2</b>");
  s = s.replace(/~~([^~\n<>]+?)~~/g, "<s>$1</s>");
  s = s.replace(/(^|[^\w*])\*(?!\s)([^*\n<>]+?)\*(?![\w*])/g, "$1<i>$2</i>");
  s = s.replace(/(^|[^\w])_(?!\s)([^_\n<>]+?)_(?!\w)/g, "$1<i>$2</i>");
  return s.replace(/\u0000(\d+)\u0000/g, (_, i: string) => links[Number(i)] ?? "");
}

/** One line of prose with `code` spans. */
function proseLine(line: string): string {
  const heading = /^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
  if (heading) return `<b>${proseLine(heading[1]!)}</b>`;
  let out = "";
  let rest = line;
  for (;;) {
    const m = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/.exec(rest);
    if (!m) break;
    out += inline(rest.slice(0, m.index));
    out += `<code>${escapeHtml(m[2]!.trim() === "" ? m[2]! : m[2]!.replace(/^ (.*) $/, "$1"))}</code>`;
    rest = rest.slice(m.index + m[0].length);
  }
  return out + inline(rest);
}

export function markdownToTelegramHtml(markdown: string): string {
  const lines = markdown.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE_OPEN.exec(lines[i]!);
    if (!open) {
      out.push(proseLine(lines[i]!));
      continue;
    }
    const marker = open[1]!;
    const lang = open[2] ?? "";
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[j]!);
      if (close && close[1]![0] === marker[0] && close[1]!.length >= marker.length) break;
      body.push(lines[j]!);
    }
    const code = escapeHtml(body.join("\n"));
    out.push(
      lang ? `<pre><code class="language-${escapeAttr(lang)}">${code}</code></pre>` : `<pre>${code}</pre>`,
    );
    i = j; // skip the closing fence (or run to the end when unclosed)
  }
  return out.join("\n");
}

/** Did Telegram refuse the message because of its markup? */
export function isEntityParseError(description: string): boolean {
  return /can't parse entities|unsupported start tag|unexpected end tag|can't find end tag/i.test(
    description,
  );
}
