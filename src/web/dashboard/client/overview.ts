/** Overview: channels (with the WhatsApp pairing QR), running containers, queue, recent errors. */
import { api, live } from "./api.ts";
import { ago, clear, debounce, h } from "./dom.ts";
import { qrSvg } from "./qr.ts";
import type { Status, View } from "./types.ts";

const RELEVANT =
  /^(channel\.|agent\.(started|finished)|queue\.|error|task\.run|group\.|ipc\.|message\.failed)/;

export const overview: View = (root) => {
  const body = h("div", { class: "grid" }, h("p", { class: "muted" }, "Loading…"));
  clear(root, h("h1", null, "Overview"), body);
  const load = async () => {
    const s = await api<Status>("/api/status");
    clear(body, ...render(s, load));
  };
  const refresh = debounce(() => void load().catch(() => {}), 250);
  const off = live((e) => {
    if (RELEVANT.test(e.type)) refresh();
  });
  void load().catch((err) => clear(body, h("p", { class: "error" }, String(err.message))));
  const tick = setInterval(refresh, 30_000); // relative times ("3m ago") stay fresh
  return () => {
    off();
    clearInterval(tick);
  };
};

function render(s: Status, reload: () => Promise<void>): HTMLElement[] {
  const stat = (label: string, value: string | number, id?: string) =>
    h("div", { class: "stat", "data-stat": id }, h("b", null, String(value)), h("span", null, label));
  return [
    readiness(s),
    h(
      "section",
      { class: "card wide stats" },
      stat("groups", s.groups, "groups"),
      stat("chats", s.chats),
      stat("active tasks", s.tasks),
      stat("running", s.queue?.active ?? s.containers.length, "running"),
      stat("waiting", s.queue?.waiting ?? 0, "waiting"),
      stat("uptime", fmtUptime(s.uptimeSec)),
    ),
    h(
      "section",
      { class: "card", id: "channels" },
      h("h2", null, "Channels"),
      s.channels.length === 0
        ? h(
            "p",
            { class: "muted" },
            s.statusSource === "events" ? "No channel has reported yet." : "No channels enabled.",
          )
        : h(
            "ul",
            { class: "list" },
            s.channels.map((c) =>
              h(
                "li",
                null,
                h("span", { class: `dot ${c.state}` }),
                h("b", null, c.name),
                h(
                  "span",
                  { class: "muted" },
                  c.state === "connected" ? `connected ${ago(c.connectedSince)}` : c.state,
                ),
                c.lastError
                  ? h("div", { class: "error small" }, `last error ${ago(c.lastErrorAt)}: ${c.lastError}`)
                  : null,
                c.qr
                  ? h(
                      "div",
                      { class: "qr" },
                      h("p", null, "Scan with WhatsApp → Linked devices → Link a device"),
                      qrSvg(c.qr, 232),
                    )
                  : null,
              ),
            ),
          ),
    ),
    h(
      "section",
      { class: "card", id: "containers" },
      h("h2", null, "Running agents"),
      s.containers.length === 0
        ? h("p", { class: "muted" }, "No agent is running.")
        : h(
            "ul",
            { class: "list" },
            s.containers.map((c) =>
              h(
                "li",
                null,
                h("span", { class: "dot connected pulse" }),
                h("a", { href: `#/groups/${encodeURIComponent(c.groupFolder)}` }, c.groupFolder),
                h("span", { class: "muted small" }, ` ${c.name} · ${c.reason ?? ""} · ${ago(c.startedAt)}`),
                h(
                  "button",
                  {
                    class: "small danger",
                    on: {
                      click: async () => {
                        if (!confirm(`Stop ${c.name}?`)) return;
                        await api(`/api/containers/${encodeURIComponent(c.name)}`, {
                          method: "DELETE",
                        }).catch((e) => alert(e.message));
                        await reload();
                      },
                    },
                  },
                  "stop",
                ),
              ),
            ),
          ),
    ),
    h(
      "section",
      { class: "card wide", id: "errors" },
      h("h2", null, "Recent errors"),
      s.recentErrors.length === 0
        ? h("p", { class: "muted" }, "None since start.")
        : h(
            "ul",
            { class: "list errors" },
            s.recentErrors
              .slice(-15)
              .reverse()
              .map((e) =>
                h(
                  "li",
                  null,
                  h("span", { class: "when muted small" }, ago(e.at)),
                  h("b", { class: "source" }, e.source),
                  h("span", { class: "message" }, e.message),
                ),
              ),
          ),
    ),
    h("p", { class: "muted small wide" }, `ngb ${s.version}`),
  ];
}

/** What serve needs to answer, as its readiness check sees it (same as `ngb status`). */
function readiness(s: Status): HTMLElement {
  const r = s.readiness;
  if (!r)
    return h(
      "section",
      { class: "card wide", id: "readiness" },
      h("p", { class: "muted" }, "Readiness is not reported by this server."),
    );
  const mark = { ok: "connected", warn: "connecting", degraded: "error", unknown: "" } as const;
  return h(
    "section",
    { class: `card wide readiness ${r.ok ? "ready" : "degraded"}`, id: "readiness" },
    h("h2", null, r.ok ? "Ready: everything needed to answer works" : `Degraded: ${r.degraded.join(", ")}`),
    h(
      "ul",
      { class: "list" },
      r.components.map((c) =>
        h(
          "li",
          { "data-component": c.name, "data-status": c.status },
          h("span", { class: `dot ${mark[c.status]}` }),
          h("b", null, c.name),
          h("span", { class: "muted" }, c.detail),
          c.fix && c.status !== "ok"
            ? h("div", { class: "fix small" }, "fix: ", h("code", null, c.fix))
            : null,
        ),
      ),
    ),
    r.checkedAt ? h("p", { class: "muted small" }, `checked ${ago(r.checkedAt)}`) : null,
  );
}

function fmtUptime(sec: number): string {
  if (sec < 3600) return `${Math.floor(sec / 60)}m`;
  if (sec < 86400) return `${Math.floor(sec / 3600)}h ${Math.floor((sec % 3600) / 60)}m`;
  return `${Math.floor(sec / 86400)}d ${Math.floor((sec % 86400) / 3600)}h`;
}
