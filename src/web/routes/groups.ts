/**
 * Registered groups: list, detail (recent messages + live agent state), register, update,
 * unregister. Changes go through the group service (validation, reserved folders, the folder on
 * disk, events); the schemas here describe the wire shape for the OpenAPI document.
 */
import * as v from "valibot";
import type { Api } from "../api.ts";
import { Folder, Jid, must } from "../api.ts";
import type { ApiContext } from "./context.ts";

const Mount = v.strictObject({
  hostPath: v.pipe(v.string(), v.minLength(1), v.maxLength(4096)),
  containerPath: v.optional(v.pipe(v.string(), v.maxLength(4096))),
  readonly: v.optional(v.boolean()),
});

export const GroupContainerConfig = v.strictObject({
  additionalMounts: v.optional(v.pipe(v.array(Mount), v.maxLength(32))),
  timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1000))),
  memory: v.optional(v.pipe(v.string(), v.regex(/^\d+[kmg]?$/i, "must look like 512m or 2g"))),
  cpus: v.optional(v.pipe(v.string(), v.regex(/^\d+(\.\d+)?$/, "must be a number like 1 or 0.5"))),
  network: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be a network name"))),
});

const Trigger = v.pipe(
  v.string(),
  v.maxLength(200),
  v.check((s) => {
    try {
      new RegExp(s, "i");
      return true;
    } catch {
      return false;
    }
  }, "must be a valid regular expression"),
);

export const RegisterGroup = v.strictObject({
  jid: Jid,
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  folder: Folder,
  triggerPattern: v.optional(v.nullable(Trigger)),
  requiresTrigger: v.optional(v.boolean()),
  isMain: v.optional(v.boolean()),
  containerConfig: v.optional(v.nullable(GroupContainerConfig)),
});

export const UpdateGroup = v.strictObject({
  name: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200))),
  triggerPattern: v.optional(v.nullable(Trigger)),
  requiresTrigger: v.optional(v.boolean()),
  containerConfig: v.optional(v.nullable(GroupContainerConfig)),
});

const FolderParam = v.strictObject({ folder: Folder });

export function groupRoutes(api: Api, ctx: ApiContext): void {
  const { store, groups } = ctx.deps;
  const withState = (folder: string) => {
    const agents = ctx.deps.runtime.containers().filter((c) => c.groupFolder === folder);
    return { running: agents.length > 0, containers: agents };
  };

  api.route({ method: "get", path: "/api/groups", tag: "groups", summary: "List registered groups" }, (c) =>
    c.json({
      groups: store.groups.list().map((g) => ({ ...g, agent: withState(g.folder) })),
    }),
  );

  api.route(
    {
      method: "get",
      path: "/api/groups/:folder",
      tag: "groups",
      summary: "A group with its recent messages, session and live agent state",
      params: FolderParam,
      query: v.object({ limit: v.optional(v.pipe(v.string(), v.regex(/^\d{1,3}$/), v.transform(Number))) }),
    },
    (c, { params, query }) => {
      const g = must(store.groups.byFolder(params.folder), "group", params.folder);
      const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
      return c.json({
        group: g,
        messages: store.messages.page(g.jid, undefined, limit).reverse(),
        session: store.groups.session(g.folder),
        cursor: store.groups.cursor(g.jid),
        tasks: store.tasks.list(g.folder),
        agent: withState(g.folder),
      });
    },
  );

  api.route(
    {
      method: "post",
      path: "/api/groups",
      tag: "groups",
      summary: "Register a chat as a group",
      body: RegisterGroup,
      responses: { 201: "The registered group" },
    },
    (c, { body }) => {
      const g = groups.register(body);
      return c.json({ group: g }, 201);
    },
  );

  api.route(
    {
      method: "patch",
      path: "/api/groups/:folder",
      tag: "groups",
      summary: "Update a group's name, trigger, requiresTrigger or container config",
      params: FolderParam,
      body: UpdateGroup,
    },
    (c, { params, body }) => {
      const g = must(store.groups.byFolder(params.folder), "group", params.folder);
      return c.json({ group: groups.update(g.jid, body) });
    },
  );

  api.route(
    {
      method: "delete",
      path: "/api/groups/:folder",
      tag: "groups",
      summary: "Unregister a group (its folder and messages are kept)",
      params: FolderParam,
    },
    (c, { params }) => {
      const g = must(store.groups.byFolder(params.folder), "group", params.folder);
      return c.json({ removed: true, group: groups.remove(g.jid) });
    },
  );
}
