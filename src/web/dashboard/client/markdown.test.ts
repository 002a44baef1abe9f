import { describe, expect, test } from "bun:test";
import { parseInline, parseMarkdown } from "./markdown.ts";

describe("markdown (parsed to a tree, never to HTML)", () => {
  test("blocks", () => {
    const blocks = parseMarkdown(
      "# Title\n\nline one\nline two\n\n- a\n- b\n\n1. x\n2. y\n\n> quoted\n\n```\n<b>code</b>\n```",
    );
    expect(blocks.map((b) => b.t)).toEqual(["h", "p", "ul", "ol", "quote", "pre"]);
    expect(blocks[5]).toEqual({ t: "pre", v: "<b>code</b>" });
    expect((blocks[1] as { lines: unknown[] }).lines).toHaveLength(2);
  });

  test("inline: bold, italic, code, safe links only", () => {
    expect(parseInline("**bold** and *it* and `x<y`")).toEqual([
      { t: "strong", c: [{ t: "text", v: "bold" }] },
      { t: "text", v: " and " },
      { t: "em", c: [{ t: "text", v: "it" }] },
      { t: "text", v: " and " },
      { t: "code", v: "x<y" },
    ]);
    expect(parseInline("[site](https://example.com/a)")).toEqual([
      { t: "link", href: "https://example.com/a", c: [{ t: "text", v: "site" }] },
    ]);
    expect(parseInline("[bad](javascript:alert(1))")).toEqual([
      { t: "text", v: "[bad](javascript:alert(1))" },
    ]);
    expect(parseInline("see https://x.org/p.")).toEqual([
      { t: "text", v: "see " },
      { t: "link", href: "https://x.org/p", c: [{ t: "text", v: "https://x.org/p" }] },
      { t: "text", v: "." },
    ]);
    expect(parseInline("snake_case_name and 2*3*4")).toEqual([{ t: "text", v: "snake_case_name and 2*3*4" }]);
    expect(parseInline("window.__xss=1 and window.__xss=2")).toEqual([
      { t: "text", v: "window.__xss=1 and window.__xss=2" },
    ]);
  });

  test("HTML stays text", () => {
    const blocks = parseMarkdown('<script>alert(1)</script> <img src=x onerror="alert(2)">');
    expect(blocks).toEqual([
      { t: "p", lines: [[{ t: "text", v: '<script>alert(1)</script> <img src=x onerror="alert(2)">' }]] },
    ]);
  });
});
