/**
 * The Hono app: health endpoints now; REST API, dashboard, live events and webchat mount here.
 * `createApp(deps)` takes everything it needs, so tests run it in-process with `app.request()`.
 */
import { Hono } from "hono";
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import type { Store } from "../store/index.ts";
import { VERSION_STRING } from "../version.ts";

export interface WebDeps {
  store: Store;
  events: EventBus;
  log: Logger;
  /** Readiness probe: true once every component has started. */
  ready: () => boolean;
  /** Extra routes (web channel, dashboard…) mounted by the runtime. */
  mount?: (app: Hono) => void;
}

export function createApp(deps: WebDeps): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ ok: true, version: VERSION_STRING }));
  app.get("/readyz", (c) => {
    if (!deps.ready()) return c.json({ ready: false }, 503);
    try {
      deps.store.db.query("SELECT 1").get();
    } catch (err) {
      return c.json({ ready: false, error: `store: ${(err as Error).message}` }, 503);
    }
    return c.json({ ready: true });
  });
  deps.mount?.(app);
  app.notFound((c) =>
    c.json({ error: "not_found", message: `no route for ${c.req.method} ${c.req.path}` }, 404),
  );
  app.onError((err, c) => {
    deps.log.withTag("web").error("request failed", { path: c.req.path, error: err.message });
    return c.json({ error: "internal", message: "internal error" }, 500);
  });
  return app;
}
