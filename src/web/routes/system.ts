/** Overview, running containers and sessions, channels and token usage. */
import * as v from "valibot";
import { VERSION_STRING } from "../../version.ts";
import type { Api } from "../api.ts";
import { ContainerName, Folder, must } from "../api.ts";
import type { ApiContext } from "./context.ts";

export function systemRoutes(api: Api, ctx: ApiContext): void {
  const { store, runtime } = ctx.deps;

  api.route(
    {
      method: "get",
      path: "/api/status",
      tag: "system",
      summary: "Overview: channels, containers, queue, recent errors",
    },
    (c) =>
      c.json({
        version: VERSION_STRING,
        uptimeSec: Math.round(runtime.uptimeMs() / 1000),
        channels: runtime.channels(),
        containers: runtime.containers(),
        queue: runtime.queue(),
        engine: runtime.engine?.() ?? null,
        groups: store.groups.list().length,
        chats: store.messages.chats().length,
        tasks: store.tasks.list().filter((t) => t.status === "active").length,
        recentErrors: ctx.errors.list(),
        readiness: ctx.deps.readiness?.() ?? null,
      }),
  );

  api.route(
    { method: "get", path: "/api/containers", tag: "containers", summary: "Running agent containers" },
    (c) => c.json({ containers: runtime.containers() }),
  );

  api.route(
    {
      method: "delete",
      path: "/api/containers/:name",
      tag: "containers",
      summary: "Stop a running agent container",
      params: v.strictObject({ name: ContainerName }),
    },
    async (c, { params }) => {
      const stopped = await runtime.stopContainer(params.name);
      must(stopped || null, "container", params.name);
      return c.json({ stopped: true, name: params.name });
    },
  );

  api.route(
    { method: "get", path: "/api/sessions", tag: "containers", summary: "Stored Claude sessions per group" },
    (c) => c.json({ sessions: store.groups.sessions() }),
  );

  api.route(
    {
      method: "delete",
      path: "/api/sessions/:folder",
      tag: "containers",
      summary: "Forget a group's session (the next run starts a fresh conversation)",
      params: v.strictObject({ folder: Folder }),
    },
    (c, { params }) => {
      must(store.groups.session(params.folder), "session", params.folder);
      store.groups.clearSession(params.folder);
      return c.json({ cleared: true, folder: params.folder });
    },
  );

  api.route(
    {
      method: "get",
      path: "/api/channels",
      tag: "system",
      summary: "Channel status, connected since, last error, pairing QR",
    },
    (c) => c.json({ channels: runtime.channels() }),
  );

  api.route(
    {
      method: "get",
      path: "/api/usage",
      tag: "system",
      summary: "Model tokens per group per day (recorded by the credential proxy)",
      query: v.object({
        since: v.optional(
          v.pipe(v.string(), v.regex(/^\d{4}-\d{2}-\d{2}$/, "must be a day like 2026-01-31")),
        ),
      }),
    },
    (c, { query }) => c.json({ usage: store.usage.list(query.since) }),
  );
}
