import { describe, expect, test } from "bun:test";
import { MESSAGE_LIMITS, splitMessage } from "./chunk.ts";

/** No chunk exceeds the limit and none starts with a lone low surrogate. */
function checkChunks(chunks: string[], limit: number) {
  for (const c of chunks) {
    expect(c.length).toBeLessThanOrEqual(limit);
    expect(c.trim().length).toBeGreaterThan(0);
    const first = c.charCodeAt(0);
    const last = c.charCodeAt(c.length - 1);
    expect(first >= 0xdc00 && first <= 0xdfff).toBe(false);
    expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
  }
}

/** Whitespace-insensitive content, to check nothing is lost or duplicated. */
const squash = (s: string) => s.replace(/\s+/g, "");

/** Fence lines (``` / ~~~) removed, for content comparison across reopened code blocks. */
const unfence = (s: string) =>
  s
    .split("\n")
    .filter((l) => !/^\s*(`{3,}|~{3,})/.test(l))
    .join("\n");

describe("splitMessage", () => {
  test("short text is returned as is", () => {
    expect(splitMessage("hello\n\nworld", 100)).toEqual(["hello\n\nworld"]);
  });

  test("empty and whitespace-only text gives no chunks", () => {
    expect(splitMessage("", 10)).toEqual([]);
    expect(splitMessage("  \n\n ", 10)).toEqual([]);
  });

  test("rejects a nonsensical limit", () => {
    expect(() => splitMessage("abc", 0)).toThrow(RangeError);
    expect(() => splitMessage("abc", 1.5)).toThrow(RangeError);
  });

  test("exactly the limit stays in one chunk; one more splits", () => {
    const t = "a".repeat(50);
    expect(splitMessage(t, 50)).toEqual([t]);
    const chunks = splitMessage(`${t} b`, 50);
    expect(chunks).toEqual([t, "b"]);
  });

  test("prefers paragraph boundaries", () => {
    const p1 = "First paragraph line one.\nline two.";
    const p2 = "Second paragraph.";
    const p3 = "Third paragraph is here.";
    const chunks = splitMessage(`${p1}\n\n${p2}\n\n${p3}`, 60);
    expect(chunks).toEqual([`${p1}\n\n${p2}`, p3]);
  });

  test("falls back to line boundaries inside a long paragraph", () => {
    const lines = Array.from({ length: 10 }, (_, i) => `line number ${i} here`);
    const chunks = splitMessage(lines.join("\n"), 50);
    checkChunks(chunks, 50);
    for (const c of chunks) for (const l of c.split("\n")) expect(lines).toContain(l);
    expect(chunks.join("\n")).toBe(lines.join("\n"));
  });

  test("falls back to word boundaries inside a long line", () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`);
    const chunks = splitMessage(words.join(" "), 30);
    checkChunks(chunks, 30);
    for (const c of chunks) for (const w of c.split(" ")) expect(words).toContain(w);
    expect(chunks.join(" ")).toBe(words.join(" "));
  });

  test("hard-cuts a single overlong word", () => {
    const t = "x".repeat(105);
    const chunks = splitMessage(t, 50);
    expect(chunks).toEqual(["x".repeat(50), "x".repeat(50), "x".repeat(5)]);
  });

  test("never splits a surrogate pair", () => {
    const emoji = "😀"; // 2 code units
    for (const limit of [3, 5, 7, 11, 4096]) {
      const t = `a${emoji.repeat(3000)}`;
      const chunks = splitMessage(t, limit);
      checkChunks(chunks, limit);
      expect(chunks.join("")).toBe(t);
    }
  });

  test("keeps a fenced code block intact when it fits", () => {
    const code = "```ts\nconst a = 1;\n\nconst b = 2;\n```";
    const before = "p".repeat(40);
    const after = "q".repeat(40);
    const chunks = splitMessage(`${before}\n\n${code}\n\n${after}`, 50);
    checkChunks(chunks, 50);
    expect(chunks).toContain(code);
  });

  test("a code block never gets split at a blank line inside it when it fits", () => {
    const code = "```\nalpha\n\nbeta\n\ngamma\n```";
    const chunks = splitMessage(`${"x".repeat(30)}\n\n${code}`, code.length + 5);
    expect(chunks).toEqual(["x".repeat(30), code]);
  });

  test("splits an oversized code block, closing and reopening the fence with its language", () => {
    const body = Array.from({ length: 60 }, (_, i) => `print(${i})  # line ${i}`);
    const code = `\`\`\`python\n${body.join("\n")}\n\`\`\``;
    const text = `Here is the code:\n\n${code}\n\nDone.`;
    const limit = 200;
    const chunks = splitMessage(text, limit);
    checkChunks(chunks, limit);
    const codeChunks = chunks.filter((c) => c.includes("print("));
    expect(codeChunks.length).toBeGreaterThan(2);
    for (const c of codeChunks) {
      const fences = c.split("\n").filter((l) => l.startsWith("```"));
      expect(fences.length % 2).toBe(0); // every chunk's fences are balanced
      expect(c.split("\n").filter((l) => l === "```python").length).toBe(1);
    }
    // every code line appears exactly once, in order
    const seen = chunks
      .join("\n")
      .split("\n")
      .filter((l) => l.startsWith("print("));
    expect(seen).toEqual(body);
    expect(chunks[0]!.startsWith("Here is the code:")).toBe(true);
    expect(chunks.at(-1)!.endsWith("Done.")).toBe(true);
  });

  test("an overlong single line inside a code block is hard-cut but stays fenced", () => {
    const long = "z".repeat(300);
    const code = `\`\`\`\n${long}\n\`\`\``;
    const chunks = splitMessage(code, 100);
    checkChunks(chunks, 100);
    for (const c of chunks) {
      expect(c.startsWith("```\n")).toBe(true);
      expect(c.endsWith("\n```")).toBe(true);
    }
    expect(squash(unfence(chunks.join("\n")))).toBe(long);
  });

  test("an unclosed fence is treated as code to the end and still balanced per chunk", () => {
    const body = Array.from({ length: 30 }, (_, i) => `row ${i}`).join("\n");
    const chunks = splitMessage(`intro\n\n~~~sh\n${body}`, 60);
    checkChunks(chunks, 60);
    const code = chunks.filter((c) => c.includes("row "));
    for (const c of code) {
      expect(c.startsWith("~~~sh\n")).toBe(true);
      expect(c.endsWith("\n~~~")).toBe(true);
    }
  });

  test("inline triple backticks inside a line are not fences", () => {
    const t = `Use \`\`\`code\`\`\` inline. ${"word ".repeat(30)}`;
    const chunks = splitMessage(t, 40);
    checkChunks(chunks, 40);
    expect(squash(chunks.join(""))).toBe(squash(t));
  });

  test("no content is lost or duplicated across a large mixed document", () => {
    const parts: string[] = [];
    for (let i = 0; i < 50; i++) {
      parts.push(`Paragraph ${i}: ${"lorem ipsum dolor sit amet ".repeat((i % 7) + 1)}`);
      if (i % 10 === 3) {
        parts.push(`\`\`\`js\n${Array.from({ length: 40 }, (_, k) => `f(${i}, ${k});`).join("\n")}\n\`\`\``);
      }
    }
    const text = parts.join("\n\n");
    for (const limit of [MESSAGE_LIMITS.discord, MESSAGE_LIMITS.slack, MESSAGE_LIMITS.telegram, 300]) {
      const chunks = splitMessage(text, limit);
      checkChunks(chunks, limit);
      expect(squash(unfence(chunks.join("\n")))).toBe(squash(unfence(text)));
    }
  });

  test("platform limits", () => {
    expect(MESSAGE_LIMITS).toEqual({ telegram: 4096, discord: 2000, slack: 4000 });
    const text = "word ".repeat(2000);
    const chunks = splitMessage(text, MESSAGE_LIMITS.discord);
    // 400 five-char words ("word " minus the last space) fill 1,999 units: exactly 5 chunks.
    expect(chunks.length).toBe(5);
    for (const c of chunks) expect(c).toBe("word ".repeat(400).trimEnd());
  });
});
