import { describe, expect, test } from "bun:test";
import { highlightSegments } from "./highlight.ts";

const marked = (snippet: string, content: string) =>
  highlightSegments(snippet, content)
    .filter((s) => s.mark)
    .map((s) => s.text);

describe("search highlight", () => {
  test("plain snippets", () => {
    expect(marked("we had [pancakes] for breakfast", "we had pancakes for breakfast")).toEqual(["pancakes"]);
    expect(marked("…had [pancakes] for…", "we had pancakes for breakfast today")).toEqual(["pancakes"]);
  });

  test("brackets in the message are text, not markers", () => {
    expect(marked("see [[pancakes]] and [x]", "see [pancakes] and [x]")).toEqual(["pancakes"]);
    expect(marked("array[0] = [value]]", "array[0] = value]")).toEqual(["value"]);
    expect(marked("[[a]] [b] [[c]]", "[a] [b] [c]")).toEqual(["a", "c"]);
    expect(marked("x [[y]] [z]", "x [y] [z]")).toEqual(["y"]);
    expect(marked("[[list]]", "[list]")).toEqual(["list"]);
    expect(highlightSegments("[[list]]", "[list]")).toEqual([
      { text: "[", mark: false },
      { text: "list", mark: true },
      { text: "]", mark: false },
    ]);
  });

  test("two hits, unicode words", () => {
    expect(marked("[café] and [crème] brûlée", "café and crème brûlée")).toEqual(["café", "crème"]);
  });

  test("a snippet that does not fit the content highlights nothing", () => {
    expect(highlightSegments("[other] text", "completely different")).toEqual([
      { text: "completely different", mark: false },
    ]);
  });
});
