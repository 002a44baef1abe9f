/** Scheduled tasks: list, create, pause/resume/cancel (via the scheduler's service), run history. */
import * as v from "valibot";
import type { Api } from "../api.ts";
import { Folder, IntString, Jid, must, TaskId } from "../api.ts";
import { UnavailableError } from "../errors.ts";
import type { WebTaskOps } from "../types.ts";
import type { ApiContext } from "./context.ts";

export const CreateTask = v.strictObject({
  groupFolder: Folder,
  chatJid: v.optional(Jid),
  prompt: v.pipe(v.string(), v.minLength(1), v.maxLength(20_000)),
  scheduleType: v.picklist(["cron", "interval", "once"]),
  scheduleValue: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  timezone: v.optional(v.pipe(v.string(), v.maxLength(64))),
  contextMode: v.optional(v.picklist(["group", "isolated"])),
  catchUp: v.optional(v.picklist(["run-once", "skip"])),
});

const API = { kind: "api" } as const;

const IdParam = v.strictObject({ id: TaskId });

export function taskRoutes(api: Api, ctx: ApiContext): void {
  const { store } = ctx.deps;
  const service = (): WebTaskOps => {
    if (!ctx.deps.tasks) throw new UnavailableError("the scheduler is not running in this process");
    return ctx.deps.tasks;
  };

  api.route(
    {
      method: "get",
      path: "/api/tasks",
      tag: "tasks",
      summary: "Scheduled tasks, optionally of one group",
      query: v.object({ group: v.optional(Folder) }),
    },
    (c, { query }) => c.json({ tasks: store.tasks.list(query.group) }),
  );

  api.route(
    {
      method: "post",
      path: "/api/tasks",
      tag: "tasks",
      summary: "Schedule a task for a group",
      body: CreateTask,
      responses: { 201: "The created task" },
    },
    async (c, { body }) => {
      const group = must(store.groups.byFolder(body.groupFolder), "group", body.groupFolder);
      const { chatJid, ...rest } = body;
      const task = service().create({ ...rest, targetJid: chatJid ?? group.jid }, API);
      return c.json({ task }, 201);
    },
  );

  api.route(
    { method: "get", path: "/api/tasks/:id", tag: "tasks", summary: "One task", params: IdParam },
    (c, { params }) => c.json({ task: must(store.tasks.get(params.id), "task", params.id) }),
  );

  api.route(
    {
      method: "get",
      path: "/api/tasks/:id/runs",
      tag: "tasks",
      summary: "Run history of a task, newest first",
      params: IdParam,
      query: v.object({ limit: v.optional(IntString(500)) }),
    },
    (c, { params, query }) => {
      must(store.tasks.get(params.id), "task", params.id);
      return c.json({ runs: store.tasks.runs(params.id, Math.max(query.limit ?? 50, 1)) });
    },
  );

  for (const action of ["pause", "resume", "cancel"] as const) {
    api.route(
      {
        method: "post",
        path: `/api/tasks/:id/${action}`,
        tag: "tasks",
        summary: `${action[0]?.toUpperCase()}${action.slice(1)} a task`,
        params: IdParam,
      },
      async (c, { params }) => {
        must(store.tasks.get(params.id), "task", params.id);
        service()[action](params.id, API);
        return c.json({ task: store.tasks.get(params.id) });
      },
    );
  }
}
