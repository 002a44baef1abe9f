/** Message search over the full-text index, with chat and date filters. */
import { api } from "./api.ts";
import { clear, h } from "./dom.ts";
import { highlightSegments } from "./highlight.ts";
import type { Msg, View } from "./types.ts";

interface Hit extends Msg {
  snippet: string;
}

/** Hits as <mark>, found by aligning the snippet with the message (see highlight.ts); never innerHTML. */
function snippet(s: string, content: string): HTMLElement {
  const el = h("div", { class: "text" });
  for (const part of s ? highlightSegments(s, content) : [{ text: content, mark: false }])
    el.append(part.mark ? h("mark", null, part.text) : document.createTextNode(part.text));
  return el;
}

export const search: View = (root, initial) => {
  const q = h("input", {
    type: "search",
    name: "q",
    placeholder: "Search messages…",
    value: initial ?? "",
    autofocus: true,
  });
  const chat = h("select", { name: "chat" }, h("option", { value: "" }, "all chats"));
  const from = h("input", { type: "date", name: "from", title: "from" });
  const to = h("input", { type: "date", name: "to", title: "to" });
  const results = h("div", { id: "results" });
  void api<{ chats: { jid: string; name: string | null }[] }>("/api/chats")
    .then(({ chats }) => chat.append(...chats.map((c) => h("option", { value: c.jid }, c.name ?? c.jid))))
    .catch(() => {});
  const run = async () => {
    if (!q.value.trim()) return clear(results);
    const p = new URLSearchParams({ q: q.value, limit: "100" });
    if (chat.value) p.set("chat", chat.value);
    if (from.value) p.set("from", String(new Date(`${from.value}T00:00:00`).getTime()));
    if (to.value) p.set("to", String(new Date(`${to.value}T23:59:59.999`).getTime()));
    history.replaceState(null, "", `#/search/${encodeURIComponent(q.value)}`);
    try {
      const { hits } = await api<{ hits: Hit[] }>(`/api/messages/search?${p}`);
      clear(
        results,
        h(
          "p",
          { class: "muted small" },
          `${hits.length}${hits.length === 100 ? "+" : ""} result${hits.length === 1 ? "" : "s"}`,
        ),
        h(
          "ul",
          { class: "list hits" },
          hits.map((m) =>
            h(
              "li",
              { "data-seq": m.seq },
              h(
                "div",
                { class: "meta" },
                h("b", null, m.senderName),
                ` in ${m.chatJid} · ${new Date(m.timestamp).toLocaleString()}`,
              ),
              snippet(m.snippet, m.content),
            ),
          ),
        ),
      );
    } catch (e) {
      clear(results, h("p", { class: "error" }, (e as Error).message));
    }
  };
  clear(
    root,
    h("h1", null, "Search"),
    h(
      "form",
      {
        class: "searchbar",
        on: {
          submit: (e) => {
            e.preventDefault();
            void run();
          },
        },
      },
      q,
      chat,
      from,
      to,
      h("button", { type: "submit" }, "Search"),
    ),
    results,
  );
  if (initial) void run();
  return undefined;
};
