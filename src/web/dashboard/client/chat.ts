/**
 * The webchat of the built-in `web` channel: talks to the channel's own endpoints
 * (POST/GET /api/webchat/messages, WebSocket /api/webchat/ws?chatId=). The chat id is kept in
 * localStorage so a reload continues the same conversation.
 */
import { ApiError, api } from "./api.ts";
import { bubble } from "./bubble.ts";
import { clear, h } from "./dom.ts";
import type { View } from "./types.ts";

interface ChatMsg {
  text: string;
  from: "assistant" | "user";
  seq?: number;
  at?: number | string;
}

const KEY = "ngb.webchat.chatId";

export const chat: View = (root) => {
  // `web:default` is the main group on a fresh install (registered by the web channel).
  const chatId = localStorage.getItem(KEY) ?? "default";
  const log = h("div", { class: "log chatlog", id: "webchat-log", "aria-live": "polite" });
  const typing = h("div", { class: "typing muted small", hidden: true }, "assistant is typing…");
  const input = h("textarea", {
    id: "webchat-input",
    rows: 2,
    placeholder: "Message the assistant… (Enter to send)",
  });
  const status = h("span", { class: "muted small" });
  const seen = new Set<number>();
  let lastSeq = 0;
  let ws: WebSocket | null = null;
  let closed = false;
  let retry = 500;

  const add = (m: ChatMsg) => {
    if (m.seq !== undefined) {
      if (seen.has(m.seq)) return;
      seen.add(m.seq);
      lastSeq = Math.max(lastSeq, m.seq);
    }
    log.append(
      bubble({
        assistant: m.from === "assistant",
        who: m.from === "assistant" ? "assistant" : "you",
        at: m.at ? new Date(m.at).getTime() : undefined,
        text: m.text,
        attrs: { "data-from": m.from },
      }),
    );
    log.scrollTop = log.scrollHeight;
  };

  const catchUp = async () => {
    const r = await api<{ messages: ChatMsg[] }>(
      `/api/webchat/messages?chatId=${encodeURIComponent(chatId)}&after=${lastSeq}`,
    ).catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 404) channelOff();
      return null;
    });
    for (const m of r?.messages ?? []) add(m);
  };

  /** Without the web channel its endpoints do not exist: say so instead of retrying forever. */
  const channelOff = () => {
    closed = true;
    ws?.close();
    status.textContent = "";
    clear(
      card,
      h(
        "p",
        { class: "notice", id: "webchat-off" },
        "The built-in web chat is off, so there is nothing to connect to. Turn it on with ",
        h("code", null, '"channels": { "web": { "enabled": true } }'),
        " in ngb.config.json (or NGB_CHANNELS_WEB_ENABLED=true) and restart ngb serve.",
      ),
    );
  };

  const connect = () => {
    if (closed) return;
    const url = new URL(`/api/webchat/ws?chatId=${encodeURIComponent(chatId)}`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(url);
    ws.onopen = () => {
      retry = 500;
      status.textContent = "connected";
      void catchUp();
    };
    ws.onmessage = (ev) => {
      let m: {
        type: string;
        text?: string;
        from?: "assistant" | "user";
        seq?: number;
        at?: number;
        on?: boolean;
      };
      try {
        m = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (m.type === "message" && typeof m.text === "string") {
        if (m.from === "assistant") typing.hidden = true;
        add({ text: m.text, from: m.from ?? "assistant", seq: m.seq, at: m.at });
      } else if (m.type === "typing") typing.hidden = !m.on;
    };
    ws.onclose = () => {
      if (closed) return;
      status.textContent = "reconnecting…";
      retry = Math.min(retry * 2, 10_000);
      if (!closed) setTimeout(connect, retry);
    };
  };

  const send = async () => {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    try {
      const r = await api<{ chatJid: string; registered: boolean }>("/api/webchat/messages", {
        method: "POST",
        json: { chatId, text },
      });
      // The stored message comes back over the WebSocket (with its seq); catch up in case it is down.
      if (ws?.readyState !== WebSocket.OPEN) void catchUp();
      status.textContent = r.registered ? "" : `${r.chatJid} is not a registered group: nobody will answer`;
    } catch (e) {
      input.value = text;
      status.textContent = (e as Error).message;
    }
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      void send();
    }
  });

  const card = h(
    "section",
    { class: "card chat" },
    log,
    typing,
    h(
      "form",
      {
        class: "composer",
        on: {
          submit: (e) => {
            e.preventDefault();
            void send();
          },
        },
      },
      input,
      h("button", { type: "submit", id: "webchat-send" }, "Send"),
    ),
  );
  clear(
    root,
    h("div", { class: "row" }, h("h1", null, "Chat"), status),
    card,
    h("p", { class: "muted small" }, "Built-in web channel, chat ", h("code", null, `web:${chatId}`)),
  );
  void catchUp();
  connect();
  return () => {
    closed = true;
    ws?.close();
  };
};
