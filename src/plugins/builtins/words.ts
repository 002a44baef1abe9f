/** A regex matching any of `words` as a whole word (Unicode-aware), optionally after "@". */
export function wordsRegex(words: readonly string[], opts: { at?: boolean } = {}): RegExp {
  const alt = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  return new RegExp(`(?<![\\p{L}\\p{N}_])${opts.at ? "@?" : ""}(?:${alt})(?![\\p{L}\\p{N}_])`, "iu");
}
