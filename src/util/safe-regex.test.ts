import { describe, expect, test } from "bun:test";
import {
  compileTrigger,
  isSafePattern,
  MAX_TRIGGER_INPUT_CHARS,
  patternProblem,
  testTrigger,
  UnsafeRegexError,
} from "./safe-regex.ts";

function refusal(pattern: string): UnsafeRegexError {
  try {
    compileTrigger(pattern);
  } catch (err) {
    if (err instanceof UnsafeRegexError) return err;
    throw err;
  }
  throw new Error(`expected ${pattern} to be refused`);
}

describe("compileTrigger", () => {
  test("catastrophic patterns are refused, naming the problem", () => {
    expect(refusal("^(a+)+$").problem).toContain("repetition inside a repetition");
    expect(refusal("(a*)*").problem).toContain("repetition inside a repetition");
    expect(refusal("(.*a){20}").problem).toContain("repetition inside a repetition");
    expect(refusal("(a|aa)+$").problem).toContain("alternatives can start with the same character");
    expect(refusal("(a|a)*").problem).toContain("alternatives");
    expect(refusal("(\\w|\\d)+").problem).toContain("alternatives");
    expect(refusal("(a|)+").problem).toContain("empty string");
    expect(refusal(".*a.*b").problem).toContain("unanchored");
    expect(refusal("a?a?a?a?a?aaaaa").problem).toContain("variable-length repetitions");
    expect(refusal("^.*a.*b.*c").problem).toContain("more than two");
    // Case-insensitive: A and a overlap.
    expect(refusal("(A|ab)+").problem).toContain("alternatives");
  });

  test("backreferences, lookaround and long patterns are refused", () => {
    expect(refusal("(a)\\1").problem).toContain("backreference");
    expect(refusal("(?<x>a)\\k<x>").problem).toContain("backreference");
    expect(refusal("bot(?=!)").problem).toContain("lookahead");
    expect(refusal("(?<!x)bot").problem).toContain("lookbehind");
    expect(refusal("a".repeat(201)).problem).toContain("longer than 200");
    expect(refusal("a{1,5000}").problem).toContain("over 1000");
    expect(refusal("(abc").problem).toContain("unterminated group");
    expect(refusal("abc)").problem).toContain('unmatched ")"');
    expect(refusal("[abc").problem).toContain("unterminated character class");
    expect(refusal("*bot").problem).toContain("nothing to repeat");
    expect(refusal("\\q").problem).toContain("unknown escape");
    expect(refusal("^(a+)+$").message).toContain('"^(a+)+$"');
  });

  test("ordinary triggers are accepted and case-insensitive", () => {
    for (const p of [
      "^@bot\\b",
      "(hey|hi) bot",
      "^@Andy\\b",
      "\\bbot\\b",
      "bot.*please",
      "^!ask\\s+\\S+",
      "colou?r",
      "^(?:hey|hi|hello)\\s*,?\\s*bot",
      "[a-z]+\\d+",
      "^\\s*@?bot[!.?]*$",
      "^(ab|cd)+ bot",
      "\\u00e9t\\u00e9|summer",
      "^[^]",
    ])
      expect(isSafePattern(p)).toBe(true);
    const re = compileTrigger("^@bot\\b");
    expect(re.flags).toBe("i");
    expect(testTrigger(re, "@Bot do this")).toBe(true);
    expect(testTrigger(re, "@botany")).toBe(false);
    expect(testTrigger(compileTrigger("(hey|hi) bot"), "well HI bot")).toBe(true);
    expect(patternProblem("^@bot\\b")).toBeNull();
  });

  test("what is accepted stays fast on hostile 4 KB input", () => {
    const cases: [string, string][] = [
      ["^.*a.*b", "a".repeat(50_000)],
      ["[a-z]+\\d+", "a".repeat(50_000)],
      ["\\s+x", " ".repeat(50_000)],
      ["^(?:hey|hi|hello)\\s*,?\\s*bot", `hey${" ".repeat(50_000)}`],
    ];
    for (const [p, input] of cases) {
      const re = compileTrigger(p);
      const t = performance.now();
      expect(testTrigger(re, input)).toBe(false);
      expect(performance.now() - t).toBeLessThan(500);
    }
  });

  test("testTrigger looks at the first 4 KB only", () => {
    const re = compileTrigger("needle");
    expect(testTrigger(re, `${"x".repeat(MAX_TRIGGER_INPUT_CHARS - 6)}needle`)).toBe(true);
    expect(testTrigger(re, `${"x".repeat(MAX_TRIGGER_INPUT_CHARS)}needle`)).toBe(false);
  });
});
