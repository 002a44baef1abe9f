/**
 * The login page (public): a tiny self-contained form that posts the token and gets a session
 * cookie. The token is checked first, so the right one always works; wrong ones count towards
 * the per-address throttle. Logout ends the session on the server, not only in the browser.
 */
import { Hono } from "hono";
import type { Auth } from "../auth.ts";
import { clientIp } from "../auth.ts";
import { originRefusal } from "../origin.ts";

const page = (error?: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>NanoGridBot · log in</title>
<style>
body{font:16px system-ui,sans-serif;background:#0f1419;color:#e6e6e6;display:grid;place-items:center;min-height:100vh;margin:0}
form{background:#1a2129;padding:2rem;border-radius:12px;width:min(22rem,90vw);box-shadow:0 4px 24px #0006}
h1{font-size:1.2rem;margin:0 0 1rem}label{display:block;margin-bottom:.4rem;color:#9aa5b1}
input{width:100%;box-sizing:border-box;padding:.6rem;border-radius:6px;border:1px solid #334;background:#0f1419;color:inherit;font:inherit}
button{margin-top:1rem;width:100%;padding:.6rem;border:0;border-radius:6px;background:#3b82f6;color:#fff;font:inherit;cursor:pointer}
.err{color:#f87171;margin:.6rem 0 0}
p.hint{color:#9aa5b1;font-size:.85rem}
</style></head><body>
<form method="post" action="/login">
<h1>NanoGridBot</h1>
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
${error ? `<p class="err" role="alert">${error}</p>` : ""}
<button type="submit">Log in</button>
<p class="hint">The token is in <code>web.token</code> / <code>NGB_WEB_TOKEN</code>, or in <code>&lt;dataDir&gt;/web-token</code>.</p>
</form></body></html>`;

export function loginRoutes(auth: Auth): Hono {
  const app = new Hono();
  app.get("/login", (c) => c.html(page()));
  app.post("/login", async (c) => {
    const ip = clientIp(c);
    let token: unknown;
    try {
      const form = await c.req.parseBody();
      token = form.token;
    } catch {
      token = undefined;
    }
    if (typeof token === "string" && auth.check(token.trim())) {
      auth.limit.reset(ip);
      auth.login(c);
      return c.redirect("/", 303);
    }
    const wait = auth.fail(ip);
    if (wait !== null) {
      c.header("Retry-After", String(wait));
      return c.html(page(`Too many failed attempts; try again in ${wait} s.`), 429);
    }
    return c.html(page("Wrong token."), 401);
  });
  app.post("/logout", (c) => {
    // A page elsewhere must not be able to end the owner's session either.
    const refusal = originRefusal(c.req.raw);
    if (refusal)
      return c.json({ error: "forbidden", message: `cross-origin request refused: ${refusal}` }, 403);
    auth.logout(c);
    return c.redirect("/login", 303);
  });
  return app;
}
