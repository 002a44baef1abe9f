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

export const MAX_PATTERN_CHARS = 200;
export const MAX_TRIGGER_INPUT_CHARS = 4096;
const MAX_COUNT = 1000;

export class UnsafeRegexError extends Error {
  override name = "UnsafeRegexError";
  constructor(
    readonly pattern: string,
    readonly problem: string,
  ) {
    super(`trigger pattern ${JSON.stringify(pattern.slice(0, 80))} refused: ${problem}`);
  }
}

// ---- character sets: 128 ASCII bits + "some non-ASCII character" ----

class CharSet {
  bits = new Uint32Array(4);
  other = false;
  add(code: number): this {
    if (code < 128) this.bits[code >> 5]! |= 1 << (code & 31);
    else this.other = true;
    return this;
  }
  addRange(from: number, to: number): this {
    for (let c = from; c <= Math.min(to, 127); c++) this.add(c);
    if (to >= 128) this.other = true;
    return this;
  }
  union(o: CharSet): this {
    for (let i = 0; i < 4; i++) this.bits[i]! |= o.bits[i]!;
    this.other ||= o.other;
    return this;
  }
  negate(): this {
    for (let i = 0; i < 4; i++) this.bits[i] = ~this.bits[i]! >>> 0;
    this.other = true;
    return this;
  }
  overlaps(o: CharSet): boolean {
    if (this.other && o.other) return true;
    for (let i = 0; i < 4; i++) if ((this.bits[i]! & o.bits[i]!) !== 0) return true;
    return false;
  }
  /** Case-insensitive: every ASCII letter gets its other case. */
  folded(): CharSet {
    const out = new CharSet().union(this);
    for (let c = 65; c <= 90; c++) {
      const has = (x: number) => (this.bits[x >> 5]! & (1 << (x & 31))) !== 0;
      if (has(c) || has(c + 32)) out.add(c).add(c + 32);
    }
    return out;
  }
}

const set = (...codes: number[]) => {
  const s = new CharSet();
  for (const c of codes) s.add(c);
  return s;
};
const DIGIT = () => new CharSet().addRange(48, 57);
const WORD = () => new CharSet().addRange(48, 57).addRange(65, 90).addRange(97, 122).add(95);
const SPACE = () => {
  const s = set(9, 10, 11, 12, 13, 32);
  s.other = true; // NBSP, line separators, …
  return s;
};
const ANY = () => {
  const s = new CharSet().addRange(0, 127);
  s.bits[0]! &= ~((1 << 10) | (1 << 13)); // "." is anything but a line break
  s.other = true;
  return s;
};

// ---- the AST ----

type Node =
  | { kind: "chars"; set: CharSet }
  | { kind: "assert"; what: string } // ^ $ \b \B
  | { kind: "group"; alts: Node[][] }
  | { kind: "repeat"; body: Node; min: number; max: number };

// ---- parser (the non-unicode RegExp grammar, minus what is refused) ----

class Parser {
  i = 0;
  constructor(readonly src: string) {}

  fail(problem: string): never {
    throw new UnsafeRegexError(this.src, problem);
  }

  parseAlts(): Node[][] {
    const alts: Node[][] = [this.parseSeq()];
    while (this.src[this.i] === "|") {
      this.i++;
      alts.push(this.parseSeq());
    }
    return alts;
  }

  parseSeq(): Node[] {
    const seq: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== "|" && this.src[this.i] !== ")") {
      const atom = this.parseAtom();
      const q = this.parseQuantifier();
      if (q) {
        if (atom.kind === "assert") this.fail("a quantifier after an anchor or \\b repeats nothing");
        seq.push({ kind: "repeat", body: atom, ...q });
      } else seq.push(atom);
    }
    return seq;
  }

  parseQuantifier(): { min: number; max: number } | null {
    const c = this.src[this.i];
    let q: { min: number; max: number } | null = null;
    if (c === "*") q = { min: 0, max: Number.POSITIVE_INFINITY };
    else if (c === "+") q = { min: 1, max: Number.POSITIVE_INFINITY };
    else if (c === "?") q = { min: 0, max: 1 };
    if (q) this.i++;
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) return null; // a literal "{", as JavaScript reads it
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === "" ? Number.POSITIVE_INFINITY : Number(m[3]);
      if (min > MAX_COUNT || (Number.isFinite(max) && max > MAX_COUNT))
        this.fail(`repetition count over ${MAX_COUNT} ("${m[0]}")`);
      if (max < min) this.fail(`repetition "${m[0]}" has its numbers out of order`);
      this.i += m[0].length;
      q = { min, max };
    } else return null;
    if (this.src[this.i] === "?") this.i++; // lazy: same cost analysis
    const next = this.src[this.i];
    if (
      next === "*" ||
      next === "+" ||
      next === "?" ||
      (next === "{" && /^\{\d/.test(this.src.slice(this.i)))
    )
      this.fail("a quantifier directly after another quantifier");
    return q;
  }

  parseAtom(): Node {
    const c = this.src[this.i]!;
    switch (c) {
      case "^":
      case "$":
        this.i++;
        return { kind: "assert", what: c };
      case ".":
        this.i++;
        return { kind: "chars", set: ANY() };
      case "(":
        return this.parseGroup();
      case "[":
        return { kind: "chars", set: this.parseClass() };
      case "\\":
        return this.parseEscape(false) ?? { kind: "assert", what: this.src.slice(this.i - 2, this.i) };
      case "*":
      case "+":
      case "?":
        return this.fail(`"${c}" at position ${this.i + 1} has nothing to repeat`);
      case "{":
        if (/^\{\d+(,\d*)?\}/.test(this.src.slice(this.i)))
          this.fail(`"{" at position ${this.i + 1} has nothing to repeat`);
        this.i++;
        return { kind: "chars", set: set(123) };
      default:
        this.i++;
        return { kind: "chars", set: set(c.charCodeAt(0)) };
    }
  }

  parseGroup(): Node {
    const rest = this.src.slice(this.i);
    if (rest.startsWith("(?=") || rest.startsWith("(?!"))
      this.fail("lookahead ((?= or (?!) is not supported");
    if (rest.startsWith("(?<=") || rest.startsWith("(?<!"))
      this.fail("lookbehind ((?<= or (?<!) is not supported");
    if (rest.startsWith("(?:")) this.i += 3;
    else if (rest.startsWith("(?<")) {
      const m = /^\(\?<([A-Za-z_$][\w$]*)>/.exec(rest);
      if (!m) this.fail(`bad group name at position ${this.i + 1}`);
      this.i += m[0].length;
    } else if (rest.startsWith("(?")) this.fail(`unknown group syntax "${rest.slice(0, 3)}"`);
    else this.i++;
    const alts = this.parseAlts();
    if (this.src[this.i] !== ")") this.fail("unterminated group: a ( without its )");
    this.i++;
    return { kind: "group", alts };
  }

  parseClass(): CharSet {
    this.i++; // [
    const negated = this.src[this.i] === "^";
    if (negated) this.i++;
    const out = new CharSet();
    while (this.i < this.src.length && this.src[this.i] !== "]") {
      const lo = this.classAtom();
      if (this.src[this.i] === "-" && this.src[this.i + 1] !== "]" && this.i + 1 < this.src.length) {
        this.i++;
        const hi = this.classAtom();
        if (typeof lo !== "number" || typeof hi !== "number") {
          // [\d-x]: JavaScript reads the "-" literally
          for (const part of [lo, set(45), hi]) typeof part === "number" ? out.add(part) : out.union(part);
          continue;
        }
        if (hi < lo) this.fail("character class range out of order");
        out.addRange(lo, hi);
      } else if (typeof lo === "number") out.add(lo);
      else out.union(lo);
    }
    if (this.src[this.i] !== "]") this.fail("unterminated character class: a [ without its ]");
    this.i++;
    return negated ? out.negate() : out;
  }

  classAtom(): number | CharSet {
    const c = this.src[this.i]!;
    if (c !== "\\") {
      this.i++;
      return c.charCodeAt(0);
    }
    const node = this.parseEscape(true);
    if (node?.kind !== "chars") return 8; // \b in a class is backspace
    const s = node.set;
    // A single character escape stays a number so it can start or end a range.
    let count = 0;
    let code = -1;
    for (let x = 0; x < 128; x++)
      if ((s.bits[x >> 5]! & (1 << (x & 31))) !== 0) {
        count++;
        code = x;
      }
    return count === 1 && !s.other ? code : s;
  }

  /** An escape; null for the assertions \b and \B (outside a class). */
  parseEscape(inClass: boolean): Node | null {
    const c = this.src[this.i + 1];
    if (c === undefined) this.fail("a pattern may not end with a backslash");
    this.i += 2;
    const chars = (s: CharSet): Node => ({ kind: "chars", set: s });
    switch (c) {
      case "d":
        return chars(DIGIT());
      case "D":
        return chars(DIGIT().negate());
      case "w":
        return chars(WORD());
      case "W":
        return chars(WORD().negate());
      case "s":
        return chars(SPACE());
      case "S":
        return chars(SPACE().negate());
      case "b":
        return inClass ? chars(set(8)) : null;
      case "B":
        if (inClass) this.fail("\\B inside a character class");
        return null;
      case "n":
        return chars(set(10));
      case "r":
        return chars(set(13));
      case "t":
        return chars(set(9));
      case "f":
        return chars(set(12));
      case "v":
        return chars(set(11));
      case "0":
        if (/\d/.test(this.src[this.i] ?? "")) this.fail("octal escapes are not supported");
        return chars(set(0));
      case "x": {
        const m = /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.i));
        if (!m) this.fail("\\x needs two hex digits");
        this.i += 2;
        return chars(set(Number.parseInt(m[0], 16)));
      }
      case "u": {
        const m = /^[0-9a-fA-F]{4}/.exec(this.src.slice(this.i));
        if (!m) this.fail("\\u needs four hex digits");
        this.i += 4;
        return chars(set(Number.parseInt(m[0], 16)));
      }
      case "c": {
        const l = this.src[this.i];
        if (!l || !/[A-Za-z]/.test(l)) this.fail("\\c needs a letter");
        this.i++;
        return chars(set(l.charCodeAt(0) % 32));
      }
      case "k":
        return this.fail("backreferences (\\k<name>) are not supported");
      default:
        if (/[1-9]/.test(c)) this.fail(`backreferences (\\${c}) are not supported`);
        if (/[A-Za-z0-9]/.test(c)) this.fail(`unknown escape "\\${c}"`);
        return chars(set(c.charCodeAt(0)));
    }
  }
}

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
