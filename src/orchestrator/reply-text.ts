/**
 * The text step between an agent's result and the channel: drops `<internal>…</internal>`
 * blocks (notes the agent keeps to itself), trims, and says when nothing is left to send.
 * Splitting to each platform's size limit is the channel adapter's job (src/channels/chunk.ts).
 */

const INTERNAL = /<internal>[\s\S]*?(<\/internal>|$)/gi;

/** The text to send for an agent result, or null when there is nothing to say. */
export function replyText(result: string | null | undefined): string | null {
  if (!result) return null;
  const text = result
    .replace(INTERNAL, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  return text.length > 0 ? text : null;
}
