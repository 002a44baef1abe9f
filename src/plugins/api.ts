/**
 * The `api` object a plugin's setup receives: handler registration (only during setup; unknown
 * hooks and bad options refused), a tagged logger, its parsed config, narrow read access, and
 * `send` through the normal delivery path with the re-entry guard.
 */
import type { Logger } from "../log/index.ts";
import { sendContext } from "./dispatch.ts";
import { PluginDefinitionError, PluginError, PluginReentryError } from "./errors.ts";
import { MAX_TEXT } from "./results.ts";
import { HOOK_NAMES } from "./define.ts";
import type { GroupInfo, HookHandler, HookName, HookOptions, MessageInfo, PluginApi } from "./types.ts";

export interface PluginReadDeps {
  groupOf(jid: string): GroupInfo | null;
  recentMessages(jid: string, limit: number): MessageInfo[];
}

export interface Registration {
  hook: HookName;
  // biome-ignore lint/suspicious/noExplicitAny: every hook's handler
  handler: HookHandler<any>;
  priority: number;
  timeoutMs: number;
}

export const DEFAULT_TIMEOUT_MS = 2_000;
export const MAX_TIMEOUT_MS = 60_000;
/** A send from inside message.sending / message.sent may nest this deep, no deeper. */
export const MAX_SEND_DEPTH = 2;

const KNOWN = new Set<string>(HOOK_NAMES);

export interface ApiScope {
  api: PluginApi<unknown>;
  registrations: Registration[];
  /** Setup finished: further `on()` calls are refused. */
  seal(): void;
}

export function createPluginApi(opts: {
  name: string;
  config: unknown;
  log: Logger;
  read: PluginReadDeps;
  send: (jid: string, text: string, plugin: string) => Promise<void>;
  isActive: () => boolean;
}): ApiScope {
  const { name } = opts;
  const registrations: Registration[] = [];
  let sealed = false;
  const tagged = opts.log.withTag(`plugin:${name}`);
  const log = {
    debug: (msg: string, d?: Record<string, unknown>) => tagged.debug(msg, d ?? ""),
    info: (msg: string, d?: Record<string, unknown>) => tagged.info(msg, d ?? ""),
    warn: (msg: string, d?: Record<string, unknown>) => tagged.warn(msg, d ?? ""),
    error: (msg: string, d?: Record<string, unknown>) => tagged.error(msg, d ?? ""),
  };
  const api: PluginApi<unknown> = {
    name,
    config: opts.config,
    log,
    on(hook, handler, options: HookOptions = {}) {
      if (sealed)
        throw new PluginError(name, `api.on("${hook}") after setup finished; register handlers in setup`);
      if (!KNOWN.has(hook))
        throw new PluginDefinitionError(name, `unknown hook "${hook}" (known: ${HOOK_NAMES.join(", ")})`);
      if (typeof handler !== "function")
        throw new PluginDefinitionError(name, `handler for "${hook}" is not a function`);
      const priority = options.priority ?? 0;
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      if (!Number.isFinite(priority))
        throw new PluginDefinitionError(name, `priority for "${hook}" must be a finite number`);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS)
        throw new PluginDefinitionError(
          name,
          `timeoutMs for "${hook}" must be an integer from 1 to ${MAX_TIMEOUT_MS}`,
        );
      registrations.push({ hook, handler, priority, timeoutMs });
    },
    async send(jid, text) {
      if (!opts.isActive()) throw new PluginError(name, "send() while the plugin is not enabled");
      if (
        typeof jid !== "string" ||
        !jid ||
        typeof text !== "string" ||
        !text.trim() ||
        text.length > MAX_TEXT
      )
        throw new PluginError(
          name,
          `send() needs a chat id and a non-empty text of at most ${MAX_TEXT} characters`,
        );
      const ctx = sendContext.getStore();
      if (ctx && ctx.depth >= MAX_SEND_DEPTH)
        throw new PluginReentryError(
          name,
          `send() from inside ${ctx.hook} re-entered the pipeline ${ctx.depth} levels deep; refused to avoid a loop`,
        );
      await opts.send(jid, text, name);
    },
    groupOf: (jid) => opts.read.groupOf(jid),
    recentMessages: (jid, limit = 20) =>
      opts.read.recentMessages(jid, Math.max(1, Math.min(100, Math.floor(Number(limit) || 20)))),
  };
  return {
    api,
    registrations,
    seal: () => {
      sealed = true;
    },
  };
}
