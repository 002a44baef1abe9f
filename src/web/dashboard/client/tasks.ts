/** Tasks: list with pause/resume/cancel, run history, and a form to schedule one. */
import { api, live } from "./api.ts";
import { ago, clear, debounce, h } from "./dom.ts";
import { localTime, localZone, scheduleText } from "./units.ts";
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
                  ` ${localTime(r.startedAt)}`,
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
        ? h(
            "div",
            { class: "card empty" },
            h("p", null, "No scheduled tasks."),
            h(
              "p",
              { class: "muted" },
              "Schedule one with the form below, with ",
              h("code", null, 'ngb tasks add --group main --every 1h --prompt "…"'),
              ", or ask the assistant in a chat (“every weekday at 9, summarise …”).",
            ),
          )
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
                    h("td", null, scheduleText(t)),
                    h("td", { class: "prompt" }, t.prompt),
                    h(
                      "td",
                      null,
                      h("span", { class: `badge ${t.status}` }, t.status),
                      t.lastError ? h("div", { class: "error small" }, t.lastError) : null,
                    ),
                    h(
                      "td",
                      { title: localTime(t.nextRun) },
                      t.nextRun ? `${ago(t.nextRun)} · ${localTime(t.nextRun)}` : "—",
                    ),
                    h("td", { title: localTime(t.lastRun) }, ago(t.lastRun)),
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

/** Placeholder and hint per schedule type: what the Schedule field takes. */
const FORMS: Record<string, { placeholder: string; hint: string; input: "text" | "datetime-local" }> = {
  cron: {
    placeholder: "0 9 * * 1-5",
    hint: "cron: minute hour day month weekday, in the time zone below",
    input: "text",
  },
  interval: { placeholder: "30m", hint: "every …: 30s, 30m, 2h, 1d, 1h30m", input: "text" },
  once: {
    placeholder: "",
    hint: "once: a date and time in the time zone below (or “in 2h”)",
    input: "datetime-local",
  },
};

function createForm(done: () => void): HTMLElement {
  const group = h("select", { name: "groupFolder", required: true });
  const type = h(
    "select",
    { name: "scheduleType" },
    h("option", { value: "cron" }, "cron (calendar)"),
    h("option", { value: "interval" }, "interval (every …)"),
    h("option", { value: "once" }, "once (at a time)"),
  );
  const value = h("input", { name: "scheduleValue", placeholder: FORMS.cron!.placeholder, required: true });
  const hint = h("span", { class: "hint" }, FORMS.cron!.hint);
  const zone = localZone();
  const zones = (Intl as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [
    zone,
  ];
  const timezone = h(
    "select",
    { name: "timezone" },
    (zones.includes(zone) ? zones : [zone, ...zones]).map((z) =>
      h("option", { value: z, selected: z === zone }, z),
    ),
  );
  const catchUp = h(
    "select",
    { name: "catchUp" },
    h("option", { value: "run-once" }, "run once when missed (e.g. while ngb was down)"),
    h("option", { value: "skip" }, "skip missed runs"),
  );
  const contextMode = h(
    "select",
    { name: "contextMode" },
    h("option", { value: "isolated" }, "isolated: a fresh session each run"),
    h("option", { value: "group" }, "group: continue the group's conversation"),
  );
  type.addEventListener("change", () => {
    const f = FORMS[type.value]!;
    value.type = f.input;
    value.placeholder = f.placeholder;
    hint.textContent = f.hint;
    value.value = "";
  });
  const prompt = h("textarea", {
    name: "prompt",
    rows: 2,
    placeholder: "What should the agent do?",
    required: true,
  });
  const msg = h("p", { class: "small full" });
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
            // A datetime-local value has no zone: the task's time zone gives it one (server-side).
            const scheduleValue =
              type.value === "once" && /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(value.value)
                ? `${value.value}:00`
                : value.value;
            const created = await api<{ task: Task }>("/api/tasks", {
              method: "POST",
              json: {
                groupFolder: group.value,
                scheduleType: type.value,
                scheduleValue,
                timezone: timezone.value,
                catchUp: catchUp.value,
                contextMode: contextMode.value,
                prompt: prompt.value,
              },
            });
            prompt.value = "";
            const next = created.task?.nextRun;
            msg.textContent = next ? `Scheduled: first run ${localTime(next)}.` : "Scheduled.";
            msg.className = "small full ok";
            done();
          } catch (err) {
            msg.textContent = (err as Error).message;
            msg.className = "small full error";
          }
        },
      },
    },
    h("h2", null, "Schedule a task"),
    h("label", null, "Group", group),
    h("label", null, "Repeat", type),
    h("label", null, "Schedule", value, hint),
    h("label", null, "Time zone", timezone),
    h("label", null, "Missed runs", catchUp),
    h("label", null, "Conversation", contextMode),
    h("label", { class: "full" }, "Prompt", prompt),
    h("button", { type: "submit" }, "Schedule"),
    msg,
  );
  return form;
}
