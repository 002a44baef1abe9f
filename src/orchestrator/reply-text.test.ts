import { describe, expect, test } from "bun:test";
import { replyText } from "./reply-text.ts";

describe("replyText", () => {
  test("internal blocks are dropped, the rest trimmed", () => {
    expect(replyText("<internal>thinking\nabout it</internal>\n\nHello!\n")).toBe("Hello!");
    expect(replyText("a\n<INTERNAL>x</INTERNAL>\n\n\n\nb")).toBe("a\n\nb");
  });

  test("an unclosed internal block hides everything after it", () => {
    expect(replyText("visible <internal>never closed")).toBe("visible");
  });

  test("nothing left means nothing to send", () => {
    expect(replyText(null)).toBeNull();
    expect(replyText("   ")).toBeNull();
    expect(replyText("<internal>only notes</internal>")).toBeNull();
  });

  test("ordinary text is untouched", () => {
    expect(replyText("use <b>tags</b> & stuff")).toBe("use <b>tags</b> & stuff");
  });
});
