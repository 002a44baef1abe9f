/**
 * Pairing QR for the terminal: baileys no longer prints one, so we render the raw QR string
 * with qrcode-terminal (zero dependencies, loaded only when a QR is actually shown).
 */

interface QrTerminal {
  generate(input: string, opts: { small?: boolean }, cb: (out: string) => void): void;
}

/** Render `qr` as block characters (two modules per text row). */
export async function renderQr(qr: string): Promise<string> {
  // @ts-expect-error qrcode-terminal ships no type declarations; QrTerminal above is its API.
  const mod = (await import("qrcode-terminal")) as { default?: QrTerminal } & QrTerminal;
  const lib = mod.default ?? mod;
  return new Promise((resolve) => lib.generate(qr, { small: true }, resolve));
}
