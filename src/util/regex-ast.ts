/**
 * The parser behind safe-regex.ts: JavaScript's non-unicode RegExp grammar read into a small AST
 * (character sets, assertions, groups, repetitions), refusing on the way what the safe subset
 * leaves out (backreferences, lookaround, octal escapes, unknown escapes, huge counts).
 */

/** Largest `{n,m}` count accepted. */
export const MAX_COUNT = 1000;

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

export class CharSet {
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

export type Node =
  | { kind: "chars"; set: CharSet }
  | { kind: "assert"; what: string } // ^ $ \b \B
  | { kind: "group"; alts: Node[][] }
  | { kind: "repeat"; body: Node; min: number; max: number };

// ---- parser (the non-unicode RegExp grammar, minus what is refused) ----

export class Parser {
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
