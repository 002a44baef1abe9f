/**
 * Incremental parser for the agent's stdout: text between the OUTPUT_START / OUTPUT_END marker
 * lines is one JSON AgentFrame. Everything else is garbage (reported, ignored); a block that is
 * not a valid frame is reported and dropped (a hostile or broken agent only hurts its own run).
 *
 * Linear in the input: every character is looked at once (no rescans of a growing buffer), and
 * memory is bounded: a line longer than `maxLineBytes` is skipped up to its newline, a block
 * larger than `maxFrameBytes` is dropped.
 */
import * as v from "valibot";
import { AgentFrame, MAX_FRAME_BYTES, OUTPUT_END, OUTPUT_START } from "../protocol/index.ts";

export interface FrameParser {
  /** Feed a chunk; returns the frames completed by it, in order. */
  push(chunk: Uint8Array | string): AgentFrame[];
  /** Flush at end of stream. `unterminated` is true if a start marker was never closed. */
  end(): { frames: AgentFrame[]; unterminated: boolean };
}

export interface FrameParserOptions {
  /** Called with each line (trimmed to 200 chars) seen outside the markers. */
  onGarbage?: (line: string) => void;
  /** Called when a block between markers is not a valid frame, or a limit was hit. */
  onInvalid?: (reason: string) => void;
  /** Largest frame (JSON text between the markers). Default MAX_FRAME_BYTES. */
  maxFrameBytes?: number;
}

export function createFrameParser(options: FrameParserOptions = {}): FrameParser {
  const maxFrame = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  // A line may carry a whole frame plus a marker on either side.
  const maxLine = maxFrame + OUTPUT_START.length + OUTPUT_END.length + 16;
  const decoder = new TextDecoder();
  let partial = "";
  /** The current line went over the limit: drop everything up to its newline. */
  let skipping = false;
  let inside = false;
  let block: string[] = [];
  let blockLen = 0;

  const invalid = (reason: string) => options.onInvalid?.(reason);

  function finishBlock(out: AgentFrame[]) {
    const text = block.join("\n").trim();
    block = [];
    blockLen = 0;
    inside = false;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return invalid(`bad JSON between markers (${(err as Error).message.slice(0, 120)})`);
    }
    const parsed = v.safeParse(AgentFrame, json);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      return invalid(`${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`);
    }
    out.push(parsed.output);
  }

  function garbage(text: string) {
    const t = text.trim();
    if (t) options.onGarbage?.(t.slice(0, 200));
  }

  function addToBlock(text: string) {
    blockLen += text.length + 1;
    if (blockLen > maxFrame) {
      invalid(`frame over ${maxFrame} bytes, dropped`);
      inside = false;
      block = [];
      blockLen = 0;
      return;
    }
    block.push(text);
  }

  function line(raw: string, out: AgentFrame[]) {
    let rest = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    // A marker may follow text that lacked a trailing newline, so look for it anywhere in the line.
    while (true) {
      if (!inside) {
        const i = rest.indexOf(OUTPUT_START);
        if (i < 0) return garbage(rest);
        garbage(rest.slice(0, i));
        inside = true;
        block = [];
        blockLen = 0;
        rest = rest.slice(i + OUTPUT_START.length);
        if (!rest.trim()) return;
      } else {
        const i = rest.indexOf(OUTPUT_END);
        const restart = rest.indexOf(OUTPUT_START);
        if (restart >= 0 && (i < 0 || restart < i)) {
          // A new block began before this one ended: the old one is lost.
          invalid("start marker inside an open block");
          inside = false;
          rest = rest.slice(restart);
          continue;
        }
        if (i < 0) return addToBlock(rest);
        addToBlock(rest.slice(0, i));
        if (inside) finishBlock(out);
        rest = rest.slice(i + OUTPUT_END.length);
        if (!rest.trim()) return;
      }
    }
  }

  function feed(text: string, out: AgentFrame[]) {
    let start = 0;
    while (start <= text.length) {
      const nl = text.indexOf("\n", start);
      const end = nl < 0 ? text.length : nl;
      if (skipping) {
        if (nl >= 0) skipping = false;
      } else if (partial.length + (end - start) > maxLine) {
        invalid(`output line over ${maxLine} bytes, skipped`);
        partial = "";
        if (inside) {
          inside = false;
          block = [];
          blockLen = 0;
        }
        skipping = nl < 0;
      } else if (nl < 0) {
        partial += text.slice(start);
      } else {
        const whole = partial ? partial + text.slice(start, nl) : text.slice(start, nl);
        partial = "";
        line(whole, out);
      }
      if (nl < 0) break;
      start = nl + 1;
    }
  }

  return {
    push(chunk) {
      const out: AgentFrame[] = [];
      feed(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }), out);
      return out;
    },
    end() {
      const out: AgentFrame[] = [];
      feed(decoder.decode(), out);
      if (partial && !skipping) line(partial, out);
      partial = "";
      skipping = false;
      return { frames: out, unterminated: inside };
    },
  };
}
