import { describe, expect, test } from "bun:test";
import { outboundText } from "./index.ts";

describe("outboundText", () => {
  test("internal blocks are dropped, the rest trimmed", () => {
    expect(outboundText("<internal>thinking\nabout it</internal>\n\nHello!\n")).toBe("Hello!");
    expect(outboundText("a\n<INTERNAL>x</INTERNAL>\n\n\n\nb")).toBe("a\n\nb");
  });

  test("an unclosed internal block hides everything after it", () => {
    expect(outboundText("visible <internal>never closed")).toBe("visible");
  });

  test("nothing left means nothing to send", () => {
    expect(outboundText(null)).toBeNull();
    expect(outboundText("   ")).toBeNull();
    expect(outboundText("<internal>only notes</internal>")).toBeNull();
  });

  test("ordinary text is untouched", () => {
    expect(outboundText("use <b>tags</b> & stuff")).toBe("use <b>tags</b> & stuff");
  });
});
