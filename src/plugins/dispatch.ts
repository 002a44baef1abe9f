/**
 * Calling handlers: the `PipelineHooks` the orchestrator calls, over a table of registered
 * handlers sorted by priority. Changing hooks run one after another, each seeing the previous
 * one's output; observing hooks start together and are not awaited (except serve.stopping).
 * Every call is isolated: a throw, a rejection, a result of the wrong shape or a call past its
 * time budget skips that handler for that event and is reported to `onFailure`; the event
 * carries on as if the plugin were absent.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { withBudget } from "./budget.ts";
import { PluginResultError, PluginTimeoutError } from "./errors.ts";
import type { PipelineHooks } from "./pipeline.ts";
import { EXPECTED, preview, validResult } from "./results.ts";
import type { FailureKind, HookStats } from "./stats.ts";
import type { ChangingHook, HookHandler, HookName } from "./types.ts";

export interface Entry {
  plugin: string;
  hook: HookName;
  // biome-ignore lint/suspicious/noExplicitAny: handlers of every hook live in one table
  handler: HookHandler<any>;
  priority: number;
  timeoutMs: number;
  /** Registration order, the tie-breaker. */
  order: number;
  stats: HookStats;
}

export interface DispatchDeps {
  /** Handlers per hook, highest priority first; replaced (never mutated) on every change. */
  table(): ReadonlyMap<HookName, readonly Entry[]>;
  onFailure(entry: Entry, err: unknown, kind: FailureKind): void;
  onSuccess(entry: Entry): void;
}

/** Where a `send()` comes from: inside message.sending / message.sent, how deep. */
export interface SendContext {
  depth: number;
  hook: HookName;
}
export const sendContext = new AsyncLocalStorage<SendContext>();

const FAILED = Symbol("failed");
const EMPTY: readonly Entry[] = [];

export function createDispatch(deps: DispatchDeps): PipelineHooks {
  const entries = (hook: HookName) => deps.table().get(hook) ?? EMPTY;

  async function invoke(e: Entry, event: unknown): Promise<unknown> {
    const started = performance.now();
    e.stats.calls++;
    let out: unknown;
    try {
      out = e.handler(event as never);
      if (out && typeof (out as Promise<unknown>).then === "function")
        out = await withBudget(
          out as Promise<unknown>,
          e.timeoutMs,
          () => new PluginTimeoutError(e.plugin, `${e.hook} handler`, e.timeoutMs),
        );
    } catch (err) {
      e.stats.totalMs += performance.now() - started;
      deps.onFailure(e, err, err instanceof PluginTimeoutError ? "timeout" : "error");
      return FAILED;
    }
    e.stats.totalMs += performance.now() - started;
    if ((CHANGING as ReadonlySet<string>).has(e.hook) && !validResult(e.hook as ChangingHook, out)) {
      const msg = `${e.hook} handler returned a wrong-shaped result ${preview(out)}; expected ${EXPECTED[e.hook as ChangingHook]}`;
      deps.onFailure(e, new PluginResultError(e.plugin, msg), "invalid");
      return FAILED;
    }
    deps.onSuccess(e);
    return out ?? undefined;
  }

  /** Observing hooks: start every handler now, in priority order; never wait. */
  function observe(hook: HookName, event: unknown, ctx?: SendContext): void {
    const list = entries(hook);
    if (list.length === 0) return;
    const frozen = Object.freeze(event);
    const run = () => {
      for (const e of list) void invoke(e, frozen);
    };
    if (ctx) sendContext.run(ctx, run);
    else run();
  }

  const nested = (hook: HookName): SendContext => ({ depth: (sendContext.getStore()?.depth ?? 0) + 1, hook });

  return {
    async messageReceived(m) {
      const list = entries("message.received");
      let content = m.content;
      let mentionsBot = m.mentionsBot;
      for (const e of list) {
        const r = (await invoke(e, Object.freeze({ ...m, content, mentionsBot }))) as
          | undefined
          | typeof FAILED
          | { content?: string; mentionsBot?: boolean; drop?: string };
        if (r === undefined || r === FAILED || r === null) continue;
        if (r.drop !== undefined) {
          e.stats.actions++;
          return { action: "drop", plugin: e.plugin, reason: r.drop };
        }
        if (r.content !== undefined) content = r.content;
        if (r.mentionsBot === true) mentionsBot = true;
      }
      return mentionsBot && !m.mentionsBot
        ? { action: "continue", content, mentionsBot: true }
        : { action: "continue", content };
    },

    messageSending(m) {
      const list = entries("message.sending");
      if (list.length === 0) return Promise.resolve({ action: "continue", text: m.text });
      return sendContext.run(nested("message.sending"), async () => {
        let text = m.text;
        for (const e of list) {
          const r = (await invoke(e, Object.freeze({ ...m, text }))) as
            | undefined
            | typeof FAILED
            | { text?: string; cancel?: string };
          if (r === undefined || r === FAILED || r === null) continue;
          if (r.cancel !== undefined) {
            e.stats.actions++;
            return { action: "cancel" as const, plugin: e.plugin, reason: r.cancel };
          }
          if (r.text !== undefined) text = r.text;
        }
        return { action: "continue" as const, text };
      });
    },

    messageSent(m) {
      observe("message.sent", { ...m }, nested("message.sent"));
    },

    async agentStarting(m) {
      const list = entries("agent.starting");
      let prompt = m.prompt;
      const group = Object.freeze({ ...m.group });
      for (const e of list) {
        const r = (await invoke(e, Object.freeze({ group, kind: m.kind, prompt }))) as
          | undefined
          | typeof FAILED
          | { prompt?: string; context?: string };
        if (r === undefined || r === FAILED || r === null) continue;
        if (r.prompt !== undefined) prompt = r.prompt;
        if (r.context) prompt = `${r.context}\n\n${prompt}`;
      }
      return { prompt };
    },

    async agentResult(m) {
      const list = entries("agent.result");
      let text = m.text;
      const group = Object.freeze({ ...m.group });
      for (const e of list) {
        const r = (await invoke(e, Object.freeze({ group, status: m.status, text }))) as
          | undefined
          | typeof FAILED
          | { text?: string | null; suppress?: string };
        if (r === undefined || r === FAILED || r === null) continue;
        if (r.suppress !== undefined) {
          e.stats.actions++;
          return { action: "suppress", plugin: e.plugin, reason: r.suppress };
        }
        if (r.text !== undefined) text = r.text;
      }
      return { action: "continue", text };
    },

    handles: (hook) => entries(hook).length > 0,
    taskRunning: (m) => observe("task.running", { ...m }),
    taskFinished: (m) => observe("task.finished", { ...m }),
    groupRegistered: (m) => observe("group.registered", { ...m }),
    serveStarted: () => observe("serve.started", {}),
    async serveStopping() {
      const list = entries("serve.stopping");
      await Promise.all(list.map((e) => invoke(e, Object.freeze({}))));
    },
  };
}

const CHANGING: ReadonlySet<HookName> = new Set<HookName>([
  "message.received",
  "message.sending",
  "agent.starting",
  "agent.result",
]);
