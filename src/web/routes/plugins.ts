/** Plugins: list with status, hooks, calls, failures and last error; enable, disable, reload. */
import * as v from "valibot";
import type { Api } from "../api.ts";
import { UnavailableError } from "../errors.ts";
import type { ApiContext } from "./context.ts";

const Name = v.pipe(v.string(), v.regex(/^(file:)?[a-z0-9][a-z0-9._-]{0,99}$/, "must be a plugin name"));

export function pluginRoutes(api: Api, ctx: ApiContext): void {
  const ops = () => {
    const p = ctx.deps.plugins;
    if (!p) throw new UnavailableError("plugins need the runtime (ngb serve); not wired here");
    return p;
  };

  api.route(
    {
      method: "get",
      path: "/api/plugins",
      tag: "plugins",
      summary: "Plugins: status, hooks, calls, failures, last error",
    },
    (c) => c.json({ plugins: ctx.deps.plugins?.list() ?? [] }),
  );
  api.route(
    {
      method: "get",
      path: "/api/plugins/:name",
      tag: "plugins",
      summary: "One plugin",
      params: v.strictObject({ name: Name }),
    },
    (c, { params }) => c.json({ plugin: ops().get(params.name) }),
  );
  for (const action of ["enable", "disable", "reload"] as const)
    api.route(
      {
        method: "post",
        path: `/api/plugins/:name/${action}`,
        tag: "plugins",
        summary:
          action === "reload"
            ? "Reload an external plugin from disk (the running version stays if the new one fails)"
            : `${action[0]!.toUpperCase()}${action.slice(1)} a plugin (persists across restarts)`,
        params: v.strictObject({ name: Name }),
      },
      async (c, { params }) => {
        const p = ops();
        if (action === "reload") return c.json({ plugins: await p.reload(params.name) });
        return c.json({ plugin: await p[action](params.name) });
      },
    );
  api.route(
    {
      method: "post",
      path: "/api/plugins/reload",
      tag: "plugins",
      summary: "Re-scan the plugins directory and reload every external plugin",
    },
    async (c) => c.json({ plugins: await ops().reload() }),
  );
}
