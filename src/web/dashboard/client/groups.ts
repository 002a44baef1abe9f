/** Groups: the list, and one group's conversation with its live agent state. */
import { api, live } from "./api.ts";
import { bubble } from "./bubble.ts";
import { ago, clear, debounce, h } from "./dom.ts";
import { scheduleText } from "./units.ts";
import type { AgentState, Group, Msg, Task, View } from "./types.ts";

export const groups: View = (root, folder) => (folder ? detail(root, folder) : list(root));

function list(root: HTMLElement) {
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  clear(root, h("h1", null, "Groups"), body);
  const load = async () => {
    const { groups } = await api<{ groups: Group[] }>("/api/groups");
    clear(
      body,
      groups.length === 0
        ? h(
            "div",
            { class: "card empty" },
            h("p", null, "No group is registered yet, so no chat gets answers."),
            h(
              "p",
              { class: "muted" },
              "Register a chat with ",
              h("code", null, "ngb groups add <jid> --folder <name>"),
              " (e.g. ",
              h("code", null, "ngb groups add tg:-1001234567890 --folder family"),
              "). Chats the bot has seen: ",
              h("code", null, "ngb groups list --discovered"),
              ". The built-in web chat registers itself as the main group when ngb serve starts with it on.",
            ),
          )
        : h(
            "ul",
            { class: "cards" },
            groups.map((g) =>
              h(
                "li",
                null,
                h(
                  "a",
                  {
                    class: "card link",
                    href: `#/groups/${encodeURIComponent(g.folder)}`,
                    "data-group": g.folder,
                  },
                  h("b", null, g.name),
                  g.isMain ? h("span", { class: "badge" }, "main") : null,
                  agentBadge(g.agent),
                  h("div", { class: "muted small" }, `${g.folder} · ${g.jid}`),
                  h(
                    "div",
                    { class: "muted small" },
                    g.requiresTrigger ? `trigger: ${g.triggerPattern ?? "default"}` : "answers every message",
                  ),
                ),
              ),
            ),
          ),
    );
  };
  const refresh = debounce(() => void load().catch(() => {}), 250);
  const off = live((e) => {
    if (/^(agent\.(started|finished)|group\.)/.test(e.type)) refresh();
  });
  void load().catch((e) => clear(body, h("p", { class: "error" }, e.message)));
  return off;
}

function agentBadge(a: AgentState | undefined): HTMLElement {
  return a?.running
    ? h("span", { class: "badge live", "data-agent": "running" }, "agent running")
    : h("span", { class: "badge", "data-agent": "idle" }, "idle");
}

function detail(root: HTMLElement, folder: string) {
  const head = h("div", { class: "row" }, h("h1", null, folder));
  const state = h("div", { class: "agent-state" });
  const log = h("div", { class: "log", id: "conversation" });
  const side = h("div", { class: "side" });
  const older = h("button", { class: "small" }, "load older");
  clear(
    root,
    h("p", null, h("a", { href: "#/groups" }, "← groups")),
    head,
    state,
    h("div", { class: "split" }, h("section", { class: "card convo" }, older, log), side),
  );
  let jid = "";
  let oldest = Number.MAX_SAFE_INTEGER;
  const seen = new Set<number>();

  // The assistant's messages (sent by ngb) on the left as Markdown, people on the right: as in Chat.
  const toBubble = (m: Msg) =>
    bubble({
      assistant: m.isFromMe,
      who: m.senderName || m.sender,
      at: m.timestamp,
      text: m.content,
      attrs: { "data-seq": m.seq, "data-from": m.isFromMe ? "assistant" : "user" },
    });
  const add = (msgs: Msg[], atTop: boolean) => {
    const fresh = msgs.filter((m) => !seen.has(m.seq));
    for (const m of fresh) {
      seen.add(m.seq);
      oldest = Math.min(oldest, m.seq);
    }
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    if (atTop) log.prepend(...fresh.map(toBubble));
    else log.append(...fresh.map(toBubble));
    if (!atTop && (nearBottom || fresh.length === msgs.length)) log.scrollTop = log.scrollHeight;
  };
  const renderState = (a: AgentState) =>
    clear(
      state,
      agentBadge(a),
      a.containers.map((c) =>
        h("span", { class: "muted small" }, ` ${c.name} (${c.reason ?? "run"}) since ${ago(c.startedAt)}`),
      ),
    );

  const load = async () => {
    const d = await api<{
      group: Group;
      messages: Msg[];
      tasks: Task[];
      agent: AgentState;
      session: string | null;
    }>(`/api/groups/${encodeURIComponent(folder)}?limit=50`);
    jid = d.group.jid;
    clear(head, h("h1", null, d.group.name), d.group.isMain ? h("span", { class: "badge" }, "main") : null);
    renderState(d.agent);
    add(d.messages, false);
    older.hidden = d.messages.length < 50;
    clear(
      side,
      h(
        "section",
        { class: "card" },
        h("h2", null, "Settings"),
        h(
          "dl",
          null,
          h("dt", null, "chat"),
          h("dd", null, d.group.jid),
          h("dt", null, "folder"),
          h("dd", null, d.group.folder),
          h("dt", null, "trigger"),
          h(
            "dd",
            null,
            d.group.requiresTrigger ? (d.group.triggerPattern ?? "default (@name)") : "not required",
          ),
          h("dt", null, "session"),
          h("dd", null, d.session ?? "none"),
        ),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", null, "Tasks"),
        d.tasks.length === 0
          ? h("p", { class: "muted" }, "No tasks.")
          : h(
              "ul",
              { class: "list" },
              d.tasks.map((t) =>
                h(
                  "li",
                  null,
                  h("span", { class: `badge ${t.status}` }, t.status),
                  ` ${scheduleText(t)} — ${t.prompt}`,
                ),
              ),
            ),
      ),
    );
  };
  older.addEventListener("click", async () => {
    const page = await api<{ messages: Msg[]; nextBefore: number | null }>(
      `/api/chats/${encodeURIComponent(jid)}/messages?before=${oldest}&limit=50`,
    );
    add(page.messages.reverse(), true);
    older.hidden = page.nextBefore === null;
  });
  const refreshState = debounce(async () => {
    const d = await api<{ agent: AgentState }>(`/api/groups/${encodeURIComponent(folder)}?limit=1`).catch(
      () => null,
    );
    if (d) renderState(d.agent);
  }, 150);
  const off = live((e) => {
    if (e.type === "message.stored" && e.data.chatJid === jid) {
      const d = e.data as unknown as Msg & { isFromMe: boolean };
      add([{ ...d, id: String(d.seq), isBot: false }], false);
    } else if ((e.type === "agent.started" || e.type === "agent.finished") && e.data.groupFolder === folder)
      refreshState();
  });
  void load().catch((e) => clear(log, h("p", { class: "error" }, e.message)));
  return off;
}
