import { describe, expect, test } from "bun:test";
import { createTerminalSanitizer, stripTerminalControls } from "./terminal.ts";

describe("stripTerminalControls", () => {
  test("removes colours, cursor moves, titles, clipboard writes and hyperlinks; keeps text, newlines, tabs", () => {
    const hostile = [
      "\x1b[31mred\x1b[0m",
      "\x1b[2J\x1b[H", // clear screen, home
      "\x1b]0;owned title\x07",
      "\x1b]52;c;ZWNobyBwd25lZA==\x1b\\", // OSC 52 clipboard write
      "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
      "\x1bPq#0;2;0;0;0\x1b\\", // DCS (sixel)
      "\x1b(0", // charset switch
      "a\rb", // carriage return overwrite
      "bell\x07 back\x08 del\x7f c1\x9b31m",
      "tab\tnew\nline",
    ].join("|");
    expect(stripTerminalControls(hostile)).toBe("red||||link|||ab|bell back del c131m|tab\tnew\nline");
  });

  test("plain and unicode text pass unchanged", () => {
    const text = "héllo wörld — 你好 🙂\n\tindented\n";
    expect(stripTerminalControls(text)).toBe(text);
  });
});

describe("createTerminalSanitizer", () => {
  test("a sequence split across chunks is still removed", () => {
    const s = createTerminalSanitizer();
    const parts = ["before \x1b", "[3", "1mred\x1b]0;ti", "tle\x07 after\n"];
    const out = parts.map((p) => s.push(new TextEncoder().encode(p))).join("") + s.end();
    expect(out).toBe("before red after\n");
  });

  test("a multi-byte character split across chunks survives", () => {
    const s = createTerminalSanitizer();
    const bytes = new TextEncoder().encode("你好");
    expect(s.push(bytes.subarray(0, 2)) + s.push(bytes.subarray(2)) + s.end()).toBe("你好");
  });

  test("an unterminated escape at the end is dropped, not printed", () => {
    const s = createTerminalSanitizer();
    expect(s.push("ok \x1b]0;never ends") + s.end()).toBe("ok ]0;never ends");
  });
});
