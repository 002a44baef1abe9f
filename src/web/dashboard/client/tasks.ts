/** Tasks: list with pause/resume/cancel, run history, and a form to schedule one. */
import { api, live } from "./api.ts";
import { ago, clear, debounce, h } from "./dom.ts";
import type { Group, Task, TaskRun, View } from "./types.ts";

export const tasks: View = (root) => {
  const table = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const runs = h("div");
  const form = createForm(() => load());
  clear(root, h("h1", null, "Tasks"), table, runs, form);

  const action = (t: Task, verb: "pause" | "resume" | "cancel") =>
    h(
      "button",
      {
        class: `small${verb === "cancel" ? " danger" : ""}`,
        on: {
          click: async () => {
            await api(`/api/tasks/${encodeURIComponent(t.id)}/${verb}`, { method: "POST" }).catch((e) =>
              alert(e.message),
            );
            await load();
          },
        },
      },
      verb,
    );
  const showRuns = async (t: Task) => {
    const { runs: list } = await api<{ runs: TaskRun[] }>(`/api/tasks/${encodeURIComponent(t.id)}/runs`);
    clear(
      runs,
      h(
        "section",
        { class: "card" },
        h("h2", null, `Runs of ${t.id}`),
        list.length === 0
          ? h("p", { class: "muted" }, "Never ran.")
          : h(
              "ul",
              { class: "list" },
              list.map((r) =>
                h(
                  "li",
                  null,
                  h("span", { class: `badge ${r.status}` }, r.status),
                  ` ${new Date(r.startedAt).toLocaleString()}`,
                  r.durationMs !== null
                    ? h("span", { class: "muted" }, ` · ${(r.durationMs / 1000).toFixed(1)} s`)
                    : null,
                  r.error ? h("div", { class: "error small" }, r.error) : null,
                  r.result ? h("div", { class: "small" }, r.result.slice(0, 300)) : null,
                ),
              ),
            ),
      ),
    );
  };
  const load = async () => {
    const { tasks: list } = await api<{ tasks: Task[] }>("/api/tasks");
    clear(
      table,
      list.length === 0
        ? h("p", { class: "muted" }, "No scheduled tasks.")
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
                  ["group", "schedule", "prompt", "status", "next", "last", ""].map((c) => h("th", null, c)),
                ),
              ),
              h(
                "tbody",
                null,
                list.map((t) =>
                  h(
                    "tr",
                    { "data-task": t.id },
                    h("td", null, t.groupFolder),
                    h("td", null, `${t.scheduleType} ${t.scheduleValue}`),
                    h("td", { class: "prompt" }, t.prompt),
                    h(
                      "td",
                      null,
                      h("span", { class: `badge ${t.status}` }, t.status),
                      t.lastError ? h("div", { class: "error small" }, t.lastError) : null,
                    ),
                    h("td", null, ago(t.nextRun)),
                    h("td", null, ago(t.lastRun)),
                    h(
                      "td",
                      { class: "actions" },
                      h("button", { class: "small", on: { click: () => void showRuns(t) } }, "runs"),
                      t.status === "active" ? action(t, "pause") : null,
                      t.status === "paused" ? action(t, "resume") : null,
                      t.status === "active" || t.status === "paused" ? action(t, "cancel") : null,
                    ),
                  ),
                ),
              ),
            ),
          ),
    );
  };
  const refresh = debounce(() => void load().catch(() => {}), 250);
  const off = live((e) => {
    if (e.type.startsWith("task.")) refresh();
  });
  void load().catch((e) => clear(table, h("p", { class: "error" }, e.message)));
  return off;
};

function createForm(done: () => void): HTMLElement {
  const group = h("select", { name: "groupFolder", required: true });
  const type = h(
    "select",
    { name: "scheduleType" },
    h("option", { value: "cron" }, "cron"),
    h("option", { value: "interval" }, "interval (ms)"),
    h("option", { value: "once" }, "once (ISO time)"),
  );
  const value = h("input", { name: "scheduleValue", placeholder: "0 9 * * *", required: true });
  const prompt = h("textarea", {
    name: "prompt",
    rows: 2,
    placeholder: "What should the agent do?",
    required: true,
  });
  const msg = h("p", { class: "small" });
  void api<{ groups: Group[] }>("/api/groups")
    .then(({ groups }) => group.append(...groups.map((g) => h("option", { value: g.folder }, g.name))))
    .catch(() => {});
  const form = h(
    "form",
    {
      class: "card form",
      on: {
        submit: async (e) => {
          e.preventDefault();
          try {
            await api("/api/tasks", {
              method: "POST",
              json: {
                groupFolder: group.value,
                scheduleType: type.value,
                scheduleValue: value.value,
                prompt: prompt.value,
              },
            });
            prompt.value = "";
            msg.textContent = "Scheduled.";
            msg.className = "small ok";
            done();
          } catch (err) {
            msg.textContent = (err as Error).message;
            msg.className = "small error";
          }
        },
      },
    },
    h("h2", null, "Schedule a task"),
    h("label", null, "Group", group),
    h("label", null, "Type", type),
    h("label", null, "Schedule", value),
    h("label", { class: "full" }, "Prompt", prompt),
    h("button", { type: "submit" }, "Schedule"),
    msg,
  );
  return form;
}
