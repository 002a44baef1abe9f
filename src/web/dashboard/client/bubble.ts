/**
 * One chat bubble, the same in the web chat and in a group's conversation: the assistant on
 * the left with its reply rendered as Markdown (safely, see markdown.ts), people on the right
 * as plain text.
 */
import { h, time } from "./dom.ts";
import { renderMarkdown } from "./markdown.ts";

export interface BubbleOptions {
  assistant: boolean;
  who: string;
  at?: number;
  text: string;
  attrs?: Record<string, string | number | undefined>;
}

export function bubble(o: BubbleOptions): HTMLElement {
  return h(
    "div",
    { class: `msg ${o.assistant ? "them" : "me"}`, ...o.attrs },
    h("div", { class: "meta" }, h("b", null, o.who), " ", o.at ? h("span", null, time(o.at)) : ""),
    o.assistant ? renderMarkdown(o.text) : h("div", { class: "text" }, o.text),
  );
}
