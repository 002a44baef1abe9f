/**
 * Incremental parser for the agent's stdout: text between the OUTPUT_START / OUTPUT_END marker
 * lines is one JSON ContainerOutput. Everything else is garbage (reported, ignored). A block
 * whose JSON is bad becomes an error output so the failure reaches the chat instead of vanishing.
 */
import * as v from "valibot";
import { ContainerOutput, OUTPUT_END, OUTPUT_START } from "../protocol/index.ts";

export interface OutputParser {
  /** Feed a chunk; returns the outputs completed by it, in order. */
  push(chunk: Uint8Array | string): ContainerOutput[];
  /** Flush at end of stream. `unterminated` is true if a start marker was never closed. */
  end(): { outputs: ContainerOutput[]; unterminated: boolean };
}

export interface OutputParserOptions {
  /** Called with each line (trimmed to 200 chars) seen outside the markers. */
  onGarbage?: (line: string) => void;
  /** Called when a block between markers is not a valid output. */
  onInvalid?: (reason: string) => void;
}

function invalid(reason: string): ContainerOutput {
  return { status: "error", result: null, error: `invalid output from agent: ${reason}` };
}

export function createOutputParser(options: OutputParserOptions = {}): OutputParser {
  const decoder = new TextDecoder();
  let pending = "";
  let inside = false;
  let block: string[] = [];

  function finishBlock(out: ContainerOutput[]) {
    const text = block.join("\n").trim();
    block = [];
    inside = false;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      const reason = `bad JSON between markers (${(err as Error).message})`;
      options.onInvalid?.(reason);
      out.push(invalid(reason));
      return;
    }
    const parsed = v.safeParse(ContainerOutput, json);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const reason = `${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`;
      options.onInvalid?.(reason);
      out.push(invalid(reason));
      return;
    }
    out.push(parsed.output);
  }

  function garbage(text: string) {
    const t = text.trim();
    if (t) options.onGarbage?.(t.slice(0, 200));
  }

  function line(raw: string, out: ContainerOutput[]) {
    let rest = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    // A marker may follow text that lacked a trailing newline, so look for it anywhere in the line.
    while (true) {
      if (!inside) {
        const i = rest.indexOf(OUTPUT_START);
        if (i < 0) return garbage(rest);
        garbage(rest.slice(0, i));
        inside = true;
        block = [];
        rest = rest.slice(i + OUTPUT_START.length);
        if (!rest.trim()) return;
      } else {
        const i = rest.indexOf(OUTPUT_END);
        const restart = rest.indexOf(OUTPUT_START);
        if (restart >= 0 && (i < 0 || restart < i)) {
          // A new block began before this one ended: the old one is lost.
          block.push(rest.slice(0, restart));
          options.onInvalid?.("start marker inside an open block");
          out.push(invalid("start marker inside an open block"));
          inside = false;
          rest = rest.slice(restart);
          continue;
        }
        if (i < 0) {
          block.push(rest);
          return;
        }
        block.push(rest.slice(0, i));
        finishBlock(out);
        rest = rest.slice(i + OUTPUT_END.length);
        if (!rest.trim()) return;
      }
    }
  }

  return {
    push(chunk) {
      pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      const out: ContainerOutput[] = [];
      let start = 0;
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        line(pending.slice(start, nl), out);
        start = nl + 1;
        nl = pending.indexOf("\n", start);
      }
      if (start > 0) pending = pending.slice(start);
      return out;
    },
    end() {
      pending += decoder.decode();
      const out: ContainerOutput[] = [];
      if (pending) line(pending, out);
      pending = "";
      return { outputs: out, unterminated: inside };
    },
  };
}
