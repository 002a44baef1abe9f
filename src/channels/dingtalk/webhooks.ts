/**
 * The session webhook of each chat's latest message, with its expiry: the reply path that needs
 * no OpenAPI permission and the only one to an external user. Bounded (oldest dropped) and,
 * when given a file, kept across restarts (written at most every `flushMs`, mode 0600: a webhook
 * URL lets anyone post into that chat until it expires), so a reply re-sent after a crash can
 * still use it.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Logger } from "../../log/index.ts";
import type { SessionWebhook } from "./map.ts";

export interface SessionWebhooks {
  get(jid: string): SessionWebhook | undefined;
  /** Keep `hook` for `jid` unless a later-expiring one is already known. */
  set(jid: string, hook: SessionWebhook): void;
  delete(jid: string): void;
  /** Write pending changes now (on disconnect). */
  flush(): void;
  readonly size: number;
}

export interface SessionWebhooksOptions {
  file?: string;
  log?: Logger;
  max?: number;
  now?: () => number;
  /** Coalesce writes for this long. Default 1 s. */
  flushMs?: number;
}

function load(file: string, now: number, log?: Logger): [string, SessionWebhook][] {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!Array.isArray(parsed)) throw new Error("not a list");
    return parsed.filter(
      (e): e is [string, SessionWebhook] =>
        Array.isArray(e) &&
        typeof e[0] === "string" &&
        typeof e[1]?.url === "string" &&
        /^https?:\/\//.test(e[1].url) &&
        typeof e[1]?.expiresAt === "number" &&
        e[1].expiresAt > now,
    );
  } catch (err) {
    log?.warn("session webhooks file unreadable, starting without it", { error: (err as Error).message });
    return [];
  }
}

export function createSessionWebhooks(options: SessionWebhooksOptions = {}): SessionWebhooks {
  const max = options.max ?? 10_000;
  const now = options.now ?? Date.now;
  const flushMs = options.flushMs ?? 1_000;
  const map = new Map<string, SessionWebhook>(options.file ? load(options.file, now(), options.log) : []);
  let timer: ReturnType<typeof setTimeout> | undefined;

  function write() {
    timer = undefined;
    if (!options.file) return;
    const t = now();
    const live = [...map].filter(([, h]) => h.expiresAt > t);
    const tmp = `${options.file}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(live), { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, options.file);
    } catch (err) {
      options.log?.warn("could not save session webhooks", { error: (err as Error).message });
    }
  }

  function changed() {
    if (!options.file || timer) return;
    timer = setTimeout(write, flushMs);
    (timer as { unref?: () => void }).unref?.();
  }

  return {
    get: (jid) => map.get(jid),
    set(jid, hook) {
      const cur = map.get(jid);
      if (cur && cur.expiresAt >= hook.expiresAt) return;
      map.delete(jid);
      map.set(jid, hook);
      if (map.size > max) map.delete(map.keys().next().value!);
      changed();
    },
    delete(jid) {
      if (map.delete(jid)) changed();
    },
    flush() {
      if (timer) {
        clearTimeout(timer);
        write();
      }
    },
    get size() {
      return map.size;
    },
  };
}
