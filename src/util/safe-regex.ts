/**
 * Safe trigger regexes. A trigger pattern comes from people and agents (group registration,
 * config), and JavaScript's backtracking engine can take exponential time on a badly written one
 * (`^(a+)+$` froze the host for 35 s). So a pattern is parsed here and accepted only from a
 * vetted subset before it is compiled:
 * - at most 200 characters; no backreferences, no lookahead or lookbehind;
 * - no repetition inside a repetition when the inner one varies in length (`(a+)+`, `(a*)*`,
 *   `(.*a){20}`, `(a?)+`): star height at most one;
 * - a repeated group's alternatives may not start with the same character (`(a|aa)+`,
 *   `(\w|\d)*`) nor match the empty string;
 * - no chain of variable-length repetitions over overlapping characters deeper than the input
 *   can afford (`.*a.*b` unanchored, `a?a?a?…aaa`): such chains backtrack polynomially or
 *   exponentially. One is allowed, two when the pattern is anchored with `^`.
 * Matching is also bounded: `testTrigger` looks at the first 4 KB of a message only, which
 * caps the worst case of what is accepted (quadratic in 4 KB).
 */

import { CharSet, type Node, Parser, UnsafeRegexError } from "./regex-ast.ts";

export { UnsafeRegexError };

export const MAX_PATTERN_CHARS = 200;
export const MAX_TRIGGER_INPUT_CHARS = 4096;

// ---- analysis ----

/** Every character the node can consume, anywhere. */
function charsOf(n: Node): CharSet {
  switch (n.kind) {
    case "chars":
      return n.set;
    case "assert":
      return new CharSet();
    case "repeat":
      return charsOf(n.body);
    case "group": {
      const out = new CharSet();
      for (const alt of n.alts) for (const x of alt) out.union(charsOf(x));
      return out;
    }
  }
}

function nullable(n: Node): boolean {
  switch (n.kind) {
    case "chars":
      return false;
    case "assert":
      return true;
    case "repeat":
      return n.min === 0 || nullable(n.body);
    case "group":
      return n.alts.some((alt) => alt.every(nullable));
  }
}

/** The characters the node can start with. */
function firstOf(n: Node): CharSet {
  switch (n.kind) {
    case "chars":
      return n.set;
    case "assert":
      return new CharSet();
    case "repeat":
      return firstOf(n.body);
    case "group": {
      const out = new CharSet();
      for (const alt of n.alts) out.union(firstOfSeq(alt));
      return out;
    }
  }
}

function firstOfSeq(seq: Node[]): CharSet {
  const out = new CharSet();
  for (const x of seq) {
    out.union(firstOf(x));
    if (!nullable(x)) break;
  }
  return out;
}

const variable = (n: Node & { kind: "repeat" }) => n.max !== n.min;
const repeats = (n: Node & { kind: "repeat" }) => n.max > 1;

function hasVariableRepeat(n: Node): boolean {
  if (n.kind === "repeat") return variable(n) || hasVariableRepeat(n.body);
  if (n.kind === "group") return n.alts.some((alt) => alt.some(hasVariableRepeat));
  return false;
}

/** The variable-length repetitions in pattern order, with the characters each can consume. */
function variableRepeats(n: Node, out: CharSet[], fold: boolean): void {
  if (n.kind === "repeat") {
    if (variable(n)) out.push(fold ? charsOf(n).folded() : charsOf(n));
    else variableRepeats(n.body, out, fold);
  } else if (n.kind === "group") for (const alt of n.alts) for (const x of alt) variableRepeats(x, out, fold);
}

function checkNode(n: Node, fail: (p: string) => never, fold: boolean): void {
  if (n.kind === "group") for (const alt of n.alts) for (const x of alt) checkNode(x, fail, fold);
  if (n.kind !== "repeat") return;
  checkNode(n.body, fail, fold);
  if (!repeats(n)) return;
  if (hasVariableRepeat(n.body))
    fail("a repetition inside a repetition (like (a+)+ or (.*x){9}) can take exponential time");
  if (nullable(n.body)) fail("a repeated group that can match the empty string (like (a?)* or (a|)+)");
  if (n.body.kind === "group" && n.body.alts.length > 1) {
    const firsts = n.body.alts.map((alt) => (fold ? firstOfSeq(alt).folded() : firstOfSeq(alt)));
    for (let i = 0; i < firsts.length; i++)
      for (let j = i + 1; j < firsts.length; j++)
        if (firsts[i]!.overlaps(firsts[j]!))
          fail(
            "a repeated group whose alternatives can start with the same character (like (a|aa)+) can take exponential time",
          );
  }
}

/** Longest chain of variable repetitions, in order, where each overlaps the one before. */
function longestChain(sets: CharSet[]): number {
  const best: number[] = [];
  let longest = 0;
  for (let i = 0; i < sets.length; i++) {
    let b = 1;
    for (let j = 0; j < i; j++) if (sets[j]!.overlaps(sets[i]!)) b = Math.max(b, best[j]! + 1);
    best.push(b);
    longest = Math.max(longest, b);
  }
  return longest;
}

/** Parses and checks `pattern`; returns the problem, or null when it is in the safe subset. */
export function patternProblem(pattern: string, flags = "i"): string | null {
  try {
    assertSafePattern(pattern, flags);
    return null;
  } catch (err) {
    if (err instanceof UnsafeRegexError) return err.problem;
    throw err;
  }
}

function assertSafePattern(pattern: string, flags: string): void {
  if (typeof pattern !== "string") throw new UnsafeRegexError(String(pattern), "not a string");
  if (pattern.length > MAX_PATTERN_CHARS)
    throw new UnsafeRegexError(pattern, `longer than ${MAX_PATTERN_CHARS} characters (${pattern.length})`);
  const p = new Parser(pattern);
  const fail = (problem: string): never => p.fail(problem);
  const alts = p.parseAlts();
  if (p.i < pattern.length) fail(`unmatched ")" at position ${p.i + 1}`);
  const root: Node = { kind: "group", alts };
  const fold = flags.includes("i");
  checkNode(root, fail, fold);
  const sets: CharSet[] = [];
  variableRepeats(root, sets, fold);
  const anchored = alts.every((alt) => alt[0]?.kind === "assert" && alt[0].what === "^");
  const allowed = anchored ? 2 : 1;
  if (longestChain(sets) > allowed)
    fail(
      anchored
        ? "more than two variable-length repetitions over the same characters in a row (like ^.*a.*b.*c) can take polynomial time"
        : "two variable-length repetitions over the same characters (like .*a.*b) in an unanchored pattern can take polynomial time; anchor it with ^ or drop one",
    );
  try {
    new RegExp(pattern, flags);
  } catch (err) {
    fail(`not a valid regular expression (${(err as Error).message})`);
  }
}

/** True when `pattern` is in the safe subset (see the module comment). */
export function isSafePattern(pattern: string, flags = "i"): boolean {
  return patternProblem(pattern, flags) === null;
}

/** Compile a user-supplied trigger pattern (case-insensitive); throws UnsafeRegexError. */
export function compileTrigger(pattern: string, flags = "i"): RegExp {
  assertSafePattern(pattern, flags);
  return new RegExp(pattern, flags);
}

/** Test a trigger against the first 4 KB of a message only. */
export function testTrigger(re: RegExp, text: string): boolean {
  re.lastIndex = 0;
  return re.test(text.length > MAX_TRIGGER_INPUT_CHARS ? text.slice(0, MAX_TRIGGER_INPUT_CHARS) : text);
}
