/**
 * Dashboard sessions, held server-side: a login gets a random 256-bit id (the cookie value) and
 * the server keeps only its SHA-256, with the time it was created and last used. A session ends
 * after `idleMs` without use, `maxAgeMs` after login, at logout, or when the process restarts
 * (the store lives in memory, so a new token — which needs a restart — ends every session).
 * The table is bounded: past `maxSessions` the least recently used session is dropped.
 */
import { randomToken, sha256 } from "../util/crypto.ts";

export interface SessionOptions {
  /** A session unused this long ends (default 12 h). */
  idleMs?: number;
  /** A session ends this long after login, used or not (default 7 days). */
  maxAgeMs?: number;
  /** Most sessions kept at once (default 1,000). */
  maxSessions?: number;
  now?: () => number;
}

export interface SessionStore {
  /** A new session; returns the id to put in the cookie (never stored as such). */
  create(): string;
  /** True when `id` names a live session; refreshes its idle timer. */
  touch(id: string): boolean;
  /** End one session (logout). */
  revoke(id: string): void;
  /** End every session (the token changed). */
  revokeAll(): void;
  size(): number;
  /** Seconds until the session's absolute expiry (for the cookie's Max-Age). */
  readonly maxAgeSec: number;
}

interface Session {
  createdAt: number;
  lastSeen: number;
}

export const DEFAULT_SESSION_IDLE_MS = 12 * 3600_000;
export const DEFAULT_SESSION_MAX_AGE_MS = 7 * 24 * 3600_000;

export function createSessionStore(options: SessionOptions = {}): SessionStore {
  const idleMs = options.idleMs ?? DEFAULT_SESSION_IDLE_MS;
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_SESSION_MAX_AGE_MS;
  const maxSessions = options.maxSessions ?? 1_000;
  const now = options.now ?? Date.now;
  // Keyed by the id's hash: the map lookup is not constant-time, and a leak about a hash is useless.
  const sessions = new Map<string, Session>();
  const key = (id: string) => sha256(id).toString("base64url");

  const expired = (s: Session, t: number) => t - s.lastSeen >= idleMs || t - s.createdAt >= maxAgeMs;

  function sweep(t: number) {
    for (const [k, s] of sessions) if (expired(s, t)) sessions.delete(k);
    // Map order is insertion order and `touch` re-inserts: the first entries are the least recently used.
    for (const k of sessions.keys()) {
      if (sessions.size < maxSessions) break;
      sessions.delete(k);
    }
  }

  return {
    maxAgeSec: Math.floor(maxAgeMs / 1000),
    create() {
      const t = now();
      sweep(t);
      const id = randomToken(32);
      sessions.set(key(id), { createdAt: t, lastSeen: t });
      return id;
    },
    touch(id) {
      if (typeof id !== "string" || id.length < 16 || id.length > 128) return false;
      const k = key(id);
      const s = sessions.get(k);
      if (!s) return false;
      const t = now();
      sessions.delete(k);
      if (expired(s, t)) return false;
      s.lastSeen = t;
      sessions.set(k, s);
      return true;
    },
    revoke(id) {
      if (typeof id === "string") sessions.delete(key(id));
    },
    revokeAll() {
      sessions.clear();
    },
    size: () => sessions.size,
  };
}
