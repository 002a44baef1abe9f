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
import { createBusyGate } from "./busy.ts";
import { createAuth } from "./auth.ts";
import { statusFor } from "./errors.ts";
import { createMetrics } from "./metrics.ts";
import { createRecentErrors } from "./recent-errors.ts";
import { createRejections } from "./rejections.ts";
import { buildOpenApi } from "./openapi.ts";
import { createApiContext } from "./routes/context.ts";
import { dashboardRoutes } from "./routes/dashboard.ts";
import { eventRoutes } from "./routes/events.ts";
import { groupRoutes } from "./routes/groups.ts";
import { loginRoutes } from "./routes/login.ts";
import { messageRoutes } from "./routes/messages.ts";
import { pluginRoutes } from "./routes/plugins.ts";
import { systemRoutes } from "./routes/system.ts";
import { taskRoutes } from "./routes/tasks.ts";
import type { WebDeps } from "./types.ts";

export type { RunningContainer, RuntimeStatus, WebDeps, WebPluginOps, WebTaskOps } from "./types.ts";

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
    sessionIdleMs: deps.sessions?.idleMs,
    sessionMaxAgeMs: deps.sessions?.maxAgeMs,
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
    // Liveness decides the status code; the body says what is degraded: the readiness checks
    // (credentials, image, channels) and the engine as the runner last saw it (runs wait for it).
    const r = deps.readiness?.();
    const degraded = [...(r?.degraded ?? [])];
    const engine = deps.runtime.engine?.();
    if (engine && !engine.ok && !degraded.includes("engine")) degraded.push("engine");
    return c.json(r || degraded.length ? { ready: true, degraded } : { ready: true });
  });
  const maxBytes = deps.maxBodyBytes ?? 1024 * 1024;
  app.use(
    bodyLimit({
      maxSize: maxBytes,
      onError: (c) =>
        c.json({ error: "payload_too_large", message: `request body over the ${maxBytes}-byte limit` }, 413),
    }),
  );
  // Refused logins and tokens are counted and sampled like refused webhooks.
  const rejections = deps.rejections ?? createRejections({ events: deps.events, log: deps.log });
  app.use(async (c, next) => {
    await next();
    if (c.res.status === 401) rejections.reject("login", "unauthorized");
    else if (c.res.status === 429) rejections.reject("login", "throttled");
  });
  app.route("/", loginRoutes(auth));
  app.use(auth.middleware);
  const busy = createBusyGate({ now: deps.now });
  app.use(busy.middleware);

  const errors = createRecentErrors(deps.events, deps.now);
  const metrics = createMetrics(deps.events);
  app.dispose = () => {
    errors.stop();
    metrics.stop();
  };
  const ctx = createApiContext(deps, errors);
  const api = createApi();
  groupRoutes(api, ctx);
  messageRoutes(api, ctx);
  taskRoutes(api, ctx);
  systemRoutes(api, ctx);
  pluginRoutes(api, ctx);
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
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    const text = metrics.render(deps.runtime);
    return c.body(deps.plugins ? `${text}${deps.plugins.metrics()}\n` : text);
  });
  app.route("/", api.app);
  deps.mount?.(app);
  app.route("/", dashboardRoutes());

  app.notFound((c) =>
    c.json({ error: "not_found", message: `no route for ${c.req.method} ${c.req.path}` }, 404),
  );
  app.onError((err, c) => {
    if (busy.sawError(err)) {
      c.header("Retry-After", String(busy.retryAfterSec()));
      return c.json({ error: "store_busy", message: "the database is busy; retry shortly" }, 503);
    }
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
