import { describe, expect, test } from "bun:test";
import { isEntityParseError, markdownToTelegramHtml as html } from "./format.ts";

describe("markdownToTelegramHtml", () => {
  test("escapes HTML so user text cannot inject markup", () => {
    expect(html("a < b && c > d <b>x</b>")).toBe("a &lt; b &amp;&amp; c &gt; d &lt;b&gt;x&lt;/b&gt;");
  });

  test("bold, italic, strike, headings", () => {
    expect(html("**bold** and __also__")).toBe("<b>bold</b> and <b>also</b>");
    expect(html("*it* and _it_")).toBe("<i>it</i> and <i>it</i>");
    expect(html("~~gone~~")).toBe("<s>gone</s>");
    expect(html("## Title")).toBe("<b>Title</b>");
  });

  test("snake_case, 2 * 3 * 4 and lone markers stay literal", () => {
    expect(html("use my_var_name here")).toBe("use my_var_name here");
    expect(html("2 * 3 * 4")).toBe("2 * 3 * 4");
    expect(html("a ** b")).toBe("a ** b");
  });

  test("inline code is escaped and not formatted", () => {
    expect(html("run `a **b** <c>` now")).toBe("run <code>a **b** &lt;c&gt;</code> now");
  });

  test("fenced code with and without language", () => {
    expect(html("```ts\nconst a = 1 < 2;\n```")).toBe(
      '<pre><code class="language-ts">const a = 1 &lt; 2;</code></pre>',
    );
    expect(html("before\n```\n*x*\n```\nafter *y*")).toBe("before\n<pre>*x*</pre>\nafter <i>y</i>");
  });

  test("links keep their URL intact", () => {
    expect(html("see [the docs](https://example.org/a_b?x=1&y=2) now")).toBe(
      'see <a href="https://example.org/a_b?x=1&amp;y=2">the docs</a> now',
    );
    expect(html("[bad](javascript:alert(1))")).toBe("[bad](javascript:alert(1))");
  });

  test("output text (tags stripped, entities decoded) is never longer than the input", () => {
    const samples = ["**a** _b_ `c` [d](https://e.f)", "# H\n\n```py\nx = 1\n```", "plain < & > text"];
    for (const s of samples) {
      const text = html(s)
        .replace(/<[^>]+>/g, "")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, "&");
      expect(text.length).toBeLessThanOrEqual(s.length);
    }
  });

  test("entity parse errors are recognised", () => {
    expect(
      isEntityParseError("Bad Request: can't parse entities: unexpected end tag at byte offset 12"),
    ).toBe(true);
    expect(isEntityParseError("Bad Request: chat not found")).toBe(false);
  });
});
