/**
 * The dashboard: one HTML page and its script/style, embedded in the binary as text (built by
 * scripts/build-dashboard.ts into src/web/dashboard/dist/) and imported lazily on the first hit.
 * Served gzip-compressed when the browser accepts it; assets are content-hashed, cached forever.
 */
import { Hono } from "hono";

interface Assets {
  html: string;
  files: Map<string, { body: Uint8Array; gzip: Uint8Array; type: string }>;
}

async function load(): Promise<Assets> {
  const mod = await import("../dashboard/assets.gen.ts");
  const files = new Map<string, { body: Uint8Array; gzip: Uint8Array; type: string }>();
  for (const [name, { text, type }] of Object.entries(mod.ASSETS)) {
    const body = new TextEncoder().encode(text);
    files.set(name, { body, gzip: Bun.gzipSync(body), type });
  }
  return { html: mod.INDEX_HTML, files };
}

export function dashboardRoutes(): Hono {
  const app = new Hono();
  // Loaded (and gzipped) on the first hit, then kept by this app, not by the module.
  let assets: Promise<Assets> | null = null;
  const loadOnce = () => {
    assets ??= load();
    return assets;
  };
  const page = async (c: import("hono").Context) => {
    const a = await loadOnce();
    c.header("Cache-Control", "no-store");
    return c.html(a.html);
  };
  app.get("/", page);
  app.get("/ui/*", page);
  app.get("/assets/:file", async (c) => {
    const a = await loadOnce();
    const f = a.files.get(c.req.param("file"));
    if (!f) return c.json({ error: "not_found", message: "no such asset" }, 404);
    c.header("Content-Type", f.type);
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    c.header("Vary", "Accept-Encoding");
    if ((c.req.header("accept-encoding") ?? "").includes("gzip")) {
      c.header("Content-Encoding", "gzip");
      return c.body(f.gzip as Uint8Array<ArrayBuffer>);
    }
    return c.body(f.body as Uint8Array<ArrayBuffer>);
  });
  return app;
}
