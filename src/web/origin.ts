/**
 * The Origin rule for cookie-authenticated requests. Browsers attach the dashboard's cookie to
 * requests from any page on the same host (SameSite ignores ports), so a request carrying it
 * must also prove it came from one of our own pages:
 * - a WebSocket upgrade must send an Origin equal to ours (browsers always send one);
 * - a state-changing method (POST, PUT, PATCH, DELETE…) must send an Origin, or failing that a
 *   Referer, equal to ours;
 * - any other request that names a foreign Origin is refused too (e.g. an EventSource).
 * "Ours" is the scheme-less host:port the request was addressed to (the Host header), so it
 * holds behind a TLS-terminating proxy that keeps the Host.
 */

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function hostOf(value: string): string | null {
  try {
    return new URL(value).host.toLowerCase();
  } catch {
    return null;
  }
}

/** Why `req` (already authenticated by cookie) is refused, or null when it may proceed. */
export function originRefusal(req: Request): string | null {
  const own = hostOf(req.url);
  const origin = req.headers.get("origin");
  const upgrade = (req.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
  const writes = !SAFE_METHODS.has(req.method.toUpperCase());

  if (origin !== null) {
    const host = origin === "null" ? null : hostOf(origin);
    if (host === null || host !== own) return `Origin ${origin.slice(0, 200)} is not this server`;
    return null;
  }
  if (upgrade) return "a WebSocket upgrade without an Origin header";
  if (!writes) return null;
  const referer = req.headers.get("referer");
  if (referer === null) return `a ${req.method} without an Origin or Referer header`;
  if (hostOf(referer) !== own) return `Referer ${referer.slice(0, 200)} is not this server`;
  return null;
}
