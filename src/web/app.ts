/**
 * The Hono app: health (public), login, then everything else behind the token: REST API under
 * `/api`, live events, `/metrics`, the dashboard, and routes mounted by the runtime (webchat).
 * `createApp(deps)` takes everything it needs, so tests run it in-process with `app.request()`.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { VERSION_STRING } from "../version.ts";
import { createApi } from "./api.ts";
import { createAuth } from "./auth.ts";
import { statusFor } from "./errors.ts";
import { createLiveState } from "./live-state.ts";
import { createMetrics } from "./metrics.ts";
import { buildOpenApi } from "./openapi.ts";
import { createApiContext } from "./routes/context.ts";
import { dashboardRoutes } from "./routes/dashboard.ts";
import { eventRoutes } from "./routes/events.ts";
import { groupRoutes } from "./routes/groups.ts";
import { loginRoutes } from "./routes/login.ts";
import { messageRoutes } from "./routes/messages.ts";
import { systemRoutes } from "./routes/system.ts";
import { taskRoutes } from "./routes/tasks.ts";
import type { WebDeps } from "./types.ts";

export type { RunningContainer, RuntimeStatus, WebDeps, WebTaskOps } from "./types.ts";

export interface WebApp extends Hono {
  /** Drop the event-bus subscriptions (metrics, live state). */
  dispose(): void;
}

export function createApp(deps: WebDeps): WebApp {
  const app = new Hono() as WebApp;
  const log = deps.log.withTag("web");
  const auth = createAuth({
    token: deps.token,
    log: deps.log,
    now: deps.now,
    maxFailures: deps.authLimit?.maxFailures,
    windowMs: deps.authLimit?.windowMs,
  });

  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
      },
      crossOriginEmbedderPolicy: false,
    }),
  );
  app.get("/healthz", (c) => c.json({ ok: true, version: VERSION_STRING }));
  app.get("/readyz", (c) => {
    if (!deps.ready()) return c.json({ ready: false }, 503);
    try {
      deps.store.db.query("SELECT 1").get();
    } catch {
      return c.json({ ready: false, error: "store unavailable" }, 503);
    }
    // Liveness decides the status code; the body says what is degraded (e.g. a rejected key).
    const r = deps.readiness?.();
    return c.json(r ? { ready: true, degraded: r.degraded } : { ready: true });
  });
  const maxBytes = deps.maxBodyBytes ?? 1024 * 1024;
  app.use(
    bodyLimit({
      maxSize: maxBytes,
      onError: (c) =>
        c.json({ error: "payload_too_large", message: `request body over the ${maxBytes}-byte limit` }, 413),
    }),
  );
  app.route("/", loginRoutes(auth));
  app.use(auth.middleware);

  const live = createLiveState(deps.events, deps.now);
  const metrics = createMetrics(deps.events);
  app.dispose = () => {
    live.stop();
    metrics.stop();
  };
  const ctx = createApiContext(deps, live);
  const api = createApi();
  groupRoutes(api, ctx);
  messageRoutes(api, ctx);
  taskRoutes(api, ctx);
  systemRoutes(api, ctx);
  eventRoutes(api, ctx);
  api.ops.push(
    { method: "get", path: "/api/openapi.json", tag: "system", summary: "This document" },
    {
      method: "get",
      path: "/metrics",
      tag: "system",
      summary: "Prometheus metrics (text exposition format)",
      produces: "text/plain",
    },
  );
  let openapi: Promise<unknown> | null = null;
  app.get("/api/openapi.json", async (c) => {
    openapi ??= buildOpenApi(api.ops);
    return c.json(await openapi);
  });
  app.get("/metrics", (c) => {
    const q = ctx.queue();
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(
      metrics.render({
        activeContainers: deps.runtime ? ctx.containers().length : undefined,
        queue: q,
      }),
    );
  });
  app.route("/", api.app);
  deps.mount?.(app);
  app.route("/", dashboardRoutes());

  app.notFound((c) =>
    c.json({ error: "not_found", message: `no route for ${c.req.method} ${c.req.path}` }, 404),
  );
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const status = err.status;
      return c.json(
        { error: status === 413 ? "payload_too_large" : "http_error", message: err.message },
        status,
      );
    }
    const mapped = statusFor(err);
    if (mapped.status >= 500)
      log.error("request failed", { method: c.req.method, path: c.req.path, error: (err as Error).message });
    return c.json({ error: mapped.error, message: mapped.message }, mapped.status as 500);
  });
  return app;
}
