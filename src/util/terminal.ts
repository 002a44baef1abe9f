/**
 * Text an agent controls (its container logs) printed to a person's terminal: escape sequences
 * (colours, cursor moves, window titles, OSC 52 clipboard writes, hyperlinks) and other control
 * characters are removed; newlines and tabs are kept. Works on a stream of chunks: a sequence
 * split across two chunks is held back until it is complete.
 */

/**
 * CSI, OSC (BEL or ST terminated), DCS/SOS/PM/APC strings, and two-character escapes (whose
 * final byte is not one that opens a longer sequence, so an incomplete one is held back).
 */
const SEQUENCE =
  /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[ -/]*[0-OQ-WYZ\\`-~])/g;
/** C0 controls but \t and \n, DEL, and the C1 range (8-bit CSI and friends). */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
/** A sequence not complete after this many characters is not one: its ESC is dropped. */
const MAX_PENDING = 4096;

/** Remove escape sequences and control characters from a complete text. */
export function stripTerminalControls(text: string): string {
  return text.replace(SEQUENCE, "").replace(CONTROL, "");
}

export interface TerminalSanitizer {
  /** Clean text of this chunk (an incomplete trailing sequence is kept for the next one). */
  push(chunk: Uint8Array | string): string;
  /** Whatever is still held back, cleaned. */
  end(): string;
}

export function createTerminalSanitizer(): TerminalSanitizer {
  const decoder = new TextDecoder();
  let pending = "";
  const clean = (final: boolean) => {
    let text = pending.replace(SEQUENCE, "");
    pending = "";
    const esc = text.lastIndexOf("\x1b");
    if (!final && esc >= 0 && text.length - esc < MAX_PENDING) {
      pending = text.slice(esc);
      text = text.slice(0, esc);
    }
    return text.replace(CONTROL, "");
  };
  return {
    push(chunk) {
      pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      return clean(false);
    },
    end() {
      pending += decoder.decode();
      return clean(true);
    },
  };
}
