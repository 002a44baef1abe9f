/** Overview, running containers and sessions, channels, plugins and token usage. */
import * as v from "valibot";
import { VERSION_STRING } from "../../version.ts";
import type { Api } from "../api.ts";
import { ContainerName, Folder, must } from "../api.ts";
import { UnavailableError } from "../errors.ts";
import type { ApiContext } from "./context.ts";

const startedAt = Date.now();

export function systemRoutes(api: Api, ctx: ApiContext): void {
  const { store } = ctx.deps;

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
        uptimeSec: Math.round((Date.now() - startedAt) / 1000),
        statusSource: ctx.statusSource,
        channels: ctx.channels(),
        containers: ctx.containers(),
        queue: ctx.queue(),
        groups: store.groups.list().length,
        chats: store.messages.chats().length,
        tasks: store.tasks.list().filter((t) => t.status === "active").length,
        recentErrors: ctx.live.errors(),
        readiness: ctx.deps.readiness?.() ?? null,
      }),
  );

  api.route(
    { method: "get", path: "/api/containers", tag: "containers", summary: "Running agent containers" },
    (c) => c.json({ containers: ctx.containers(), source: ctx.statusSource }),
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
      const rt = ctx.deps.runtime;
      if (!rt) throw new UnavailableError("container control needs the runtime (ngb serve); not wired here");
      const stopped = await rt.stopContainer(params.name);
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
    (c) => c.json({ channels: ctx.channels(), source: ctx.statusSource }),
  );

  api.route(
    {
      method: "get",
      path: "/api/plugins",
      tag: "system",
      summary: "Loaded plugins (none yet: the plugin system is not implemented)",
    },
    (c) => c.json({ plugins: [], note: "the plugin system is not implemented yet; no plugins are loaded" }),
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
    (c, { query }) => c.json({ usage: store.outbound.usage(query.since) }),
  );
}
