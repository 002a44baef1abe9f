/**
 * Outgoing DingTalk message bodies: plain text, or Markdown (DingTalk renders a subset:
 * headings, bold/italic, links, images, lists, quotes, code; no tables or strikethrough) with
 * the title DingTalk shows in notifications and the chat list. Pure functions.
 */
import type { RobotPayload, WebhookBody } from "./api.ts";

/**
 * One message's text limit. DingTalk documents none for robot messages. Known from users: the
 * robot webhook refuses bodies over 20,000 bytes (errcode 460101, "message too long, exceed 20000
 * bytes"), and markdown longer than ~3,500 characters may stop rendering (a peer downgrades such
 * replies to text). 3,500 UTF-16 units stay under both for any script (≤ 10.5 KB of UTF-8).
 */
export const DINGTALK_TEXT_LIMIT = 3_500;

const MARKDOWN =
  /(^#{1,6}\s)|(\*\*[^*\n]+\*\*)|(`[^`\n]+`)|(^```)|(^\s*[-*+]\s+\S)|(^\s*\d+\.\s+\S)|(\[[^\]\n]+\]\([^)\s]+\))|(^>\s)/m;

/** True when the text uses Markdown that DingTalk would render. */
export function looksLikeMarkdown(text: string): boolean {
  return MARKDOWN.test(text);
}

/** A short title from the first non-empty line, Markdown marks removed (≤ 40 chars). */
export function markdownTitle(text: string, fallback: string): string {
  const line = text
    .split("\n")
    .map((l) =>
      l
        .replace(/^\s*(#{1,6}|>|[-*+]|\d+\.)\s+/, "")
        .replace(/[*_`~[\]]/g, "")
        .replace(/\(\S+?\)/g, "")
        .trim(),
    )
    .find((l) => l.length > 0);
  const title = line ?? fallback;
  return title.length > 40 ? `${title.slice(0, 39)}…` : title;
}

/** Body for a session webhook. */
export function webhookBody(text: string, fallbackTitle: string): WebhookBody {
  if (looksLikeMarkdown(text)) {
    return { msgtype: "markdown", markdown: { title: markdownTitle(text, fallbackTitle), text } };
  }
  return { msgtype: "text", text: { content: text } };
}

/** `msgKey` + JSON-string `msgParam` for the OpenAPI sends. */
export function openApiPayload(text: string, fallbackTitle: string): RobotPayload {
  if (looksLikeMarkdown(text)) {
    return {
      msgKey: "sampleMarkdown",
      msgParam: JSON.stringify({ title: markdownTitle(text, fallbackTitle), text }),
    };
  }
  return { msgKey: "sampleText", msgParam: JSON.stringify({ content: text }) };
}
