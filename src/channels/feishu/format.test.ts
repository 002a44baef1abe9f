import { describe, expect, test } from "bun:test";
import { BODY_LIMITS, chunkUuid, looksLikeMarkdown, planMessages, postMarkdown } from "./format.ts";

describe("feishu outgoing format", () => {
  test("prose goes as text, Markdown as a post with one md element and demoted headings", () => {
    expect(planMessages("just words", "auto")).toEqual([
      { msgType: "text", content: JSON.stringify({ text: "just words" }), text: "just words" },
    ]);
    const [post] = planMessages("# Title\n\n## Sub\n\n- a\n- b\n\n```sh\n# not a heading\n```", "auto");
    expect(post!.msgType).toBe("post");
    const body = JSON.parse(post!.content);
    expect(body.zh_cn.content).toEqual([
      [{ tag: "md", text: "#### Title\n\n##### Sub\n\n- a\n- b\n\n```sh\n# not a heading\n```" }],
    ]);
    expect(planMessages("**bold**", "text")[0]!.msgType).toBe("text");
    expect(looksLikeMarkdown("a | b\n|---|---|")).toBe(true);
    expect(postMarkdown("#### small already")).toBe("#### small already");
  });

  test("long replies are split under the body limits, CJK and escapes counted in bytes", () => {
    const cjk = "飞书消息测试。".repeat(10_000); // 70,000 chars, 210 KB of UTF-8
    const parts = planMessages(cjk, "text");
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(Buffer.byteLength(JSON.stringify({ msg_type: "text", content: p.content }))).toBeLessThan(
        BODY_LIMITS.text,
      );
    }
    expect(parts.map((p) => p.text).join("")).toBe(cjk);
    const quotes = `**q** ${'"\\'.repeat(6_000)}`;
    for (const p of planMessages(quotes, "auto")) {
      expect(p.msgType).toBe("post");
      expect(Buffer.byteLength(JSON.stringify({ msg_type: p.msgType, content: p.content }))).toBeLessThan(
        BODY_LIMITS.post,
      );
    }
  });

  test("uuids are stable per key and chunk, at most 50 characters", () => {
    expect(chunkUuid("abc", 0)).toBe("abc-0");
    expect(chunkUuid("abc", 0)).not.toBe(chunkUuid("abc", 1));
    const long = chunkUuid("x".repeat(200), 12);
    expect(long.length).toBeLessThanOrEqual(50);
    expect(chunkUuid("x".repeat(200), 12)).toBe(long);
    expect(chunkUuid("with space/slash", 0)).toMatch(/^[0-9a-f]+-0$/);
  });
});
