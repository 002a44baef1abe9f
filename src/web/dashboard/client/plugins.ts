/** Plugins: status, hooks, calls, failures and last error of each; enable, disable, reload. */
import { api } from "./api.ts";
import { ago, clear, h } from "./dom.ts";
import type { Plugin, View } from "./types.ts";

const BADGE: Record<Plugin["status"], string> = {
  enabled: "success",
  disabled: "paused",
  failed: "error",
  error: "error",
};

export const plugins: View = (root) => {
  const table = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const note = h("p", { class: "muted small" });
  clear(
    root,
    h("h1", null, "Plugins"),
    h(
      "p",
      { class: "muted small" },
      "Built-ins are off unless enabled; plugins in the plugins folder load and reload on change. See docs/plugins.md.",
    ),
    table,
    note,
  );

  const act = (p: Plugin, verb: "enable" | "disable" | "reload") =>
    h(
      "button",
      {
        class: `small${verb === "disable" ? " danger" : ""}`,
        "data-action": verb,
        on: {
          click: async () => {
            await api(`/api/plugins/${encodeURIComponent(p.name)}/${verb}`, { method: "POST" }).catch((e) =>
              alert(e.message),
            );
            await load();
          },
        },
      },
      verb,
    );

  const load = async () => {
    const { plugins: list } = await api<{ plugins: Plugin[] }>("/api/plugins");
    note.textContent = `updated ${new Date().toLocaleTimeString()}`;
    clear(
      table,
      list.length === 0
        ? h("p", { class: "muted" }, "No plugins.")
        : h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              null,
              h(
                "thead",
                null,
                h(
                  "tr",
                  null,
                  ["plugin", "status", "hooks", "calls", "failures", "last error", ""].map((c) =>
                    h("th", null, c),
                  ),
                ),
              ),
              h(
                "tbody",
                null,
                list.map((p) =>
                  h(
                    "tr",
                    { "data-plugin": p.name },
                    h(
                      "td",
                      null,
                      h("strong", null, p.name),
                      h("div", { class: "muted small" }, `${p.source}${p.version ? ` ${p.version}` : ""}`),
                      p.description ? h("div", { class: "small" }, p.description) : null,
                    ),
                    h("td", null, h("span", { class: `badge ${BADGE[p.status]}` }, p.status)),
                    h(
                      "td",
                      { class: "small" },
                      p.hooks.length === 0
                        ? "—"
                        : p.hooks.map((k) =>
                            h(
                              "div",
                              null,
                              `${k.hook} · ${k.calls} calls · ${k.failures} failed · ${k.avgMs} ms avg`,
                            ),
                          ),
                    ),
                    h("td", null, String(p.calls)),
                    h("td", null, String(p.failures)),
                    h(
                      "td",
                      { class: "small" },
                      p.lastError ? h("div", { class: "error" }, p.lastError.message) : "—",
                      p.lastError ? h("div", { class: "muted" }, ago(p.lastError.at)) : null,
                    ),
                    h(
                      "td",
                      { class: "actions" },
                      p.status === "enabled" ? act(p, "disable") : act(p, "enable"),
                      p.source === "external" ? act(p, "reload") : null,
                    ),
                  ),
                ),
              ),
            ),
          ),
    );
  };
  void load().catch((e) => clear(table, h("p", { class: "error" }, e.message)));
  // Counters move with traffic; a light poll keeps them current while the view is open.
  const timer = setInterval(() => void load().catch(() => {}), 5_000);
  return () => clearInterval(timer);
};
