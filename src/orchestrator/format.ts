/**
 * How stored messages are handed to the agent: one XML document with sender and time per
 * message. Text is escaped so a message can never close the element or forge another one.
 */
import type { StoredMessage } from "../store/index.ts";

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/** Escape text for XML element content and attribute values; drops characters XML 1.0 forbids. */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

export type PromptMessage = Pick<StoredMessage, "senderName" | "sender" | "content" | "timestamp">;

/** `<messages><message sender="…" time="ISO">text</message>…</messages>` */
export function formatMessages(messages: PromptMessage[]): string {
  const lines = messages.map(
    (m) =>
      `<message sender="${escapeXml(m.senderName || m.sender)}" time="${new Date(m.timestamp).toISOString()}">${escapeXml(m.content)}</message>`,
  );
  return `<messages>\n${lines.join("\n")}\n</messages>`;
}
