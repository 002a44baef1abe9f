/**
 * The plugin host: knows every plugin (built-in and external), activates the enabled ones
 * (config parsed, setup run within a budget, handlers committed only if setup succeeds),
 * deactivates them (teardown within a budget, timers cleared), counts failures and disables a
 * plugin that keeps failing, reloads external plugins when their files change (the old version
 * stays when the new one fails to load), and exposes `hooks` — the `PipelineHooks` the
 * orchestrator calls. With nothing enabled the hooks table is empty and each call is a no-op.
 */
import { join } from "node:path";
import type { Logger } from "../log/index.ts";
import { errorMessage } from "../util/errors.ts";
import type { PluginReadDeps } from "./api.ts";
import { BUILTINS } from "./builtins/index.ts";
import { createDispatch, type Entry } from "./dispatch.ts";
import { withBudget } from "./budget.ts";
import { PluginError, PluginNotFoundError, PluginTimeoutError } from "./errors.ts";
import { checkDefinition, discoverPlugins, importPlugin, type PluginSource } from "./loader.ts";

export type { PluginStatus, PluginStatusName } from "./record.ts";
import type { PipelineHooks } from "./pipeline.ts";
import { nameOf, newRecord, type PluginRecord, type PluginStatus, toStatus } from "./record.ts";
import { runSetup } from "./setup.ts";
import { openStateFile, type StateFile } from "./state.ts";
import { type FailureKind, newHookStats, renderPluginMetrics } from "./stats.ts";
import { createTimerScope, type TimerScope } from "./timers.ts";
import type { HookName, PluginDefinition } from "./types.ts";
import { createWatcher } from "./watch.ts";

export interface PluginHostOptions {
  /** The plugins directory (external plugins). */
  dir: string;
  /** Plugins enabled by the config (built-ins need this; external ones are on unless disabled). */
  enabled: readonly string[];
  /** `plugins.config`: each plugin's raw config by name. */
  config: Readonly<Record<string, unknown>>;
  /** Failures in a row before a plugin is disabled automatically. */
  maxFailures: number;
  /** Reload external plugins when their files change. */
  watch: boolean;
  /** Where enable/disable survive restarts (`<dataDir>/plugins.json`); none in tests. */
  stateFile?: string;
  /** Scratch space for bundled external plugins. */
  cacheDir: string;
}

export interface PluginHostDeps {
  log: Logger;
  options: PluginHostOptions;
  /** Sends through the normal delivery path (source "plugin"). */
  send: (jid: string, text: string, plugin: string) => Promise<void>;
  read: PluginReadDeps;
  /** Built-in definitions (default: the four shipped ones). */
  builtins?: readonly PluginDefinition[];
  now?: () => number;
}

const SETUP_BUDGET_MS = 5_000;
/** Bundling and importing one external plugin (a top-level await that never ends stops here). */
const LOAD_BUDGET_MS = 15_000;
const TEARDOWN_BUDGET_MS = 5_000;

export interface PluginHost {
  hooks: PipelineHooks;
  /** Load and activate; call once at serve start. */
  start(): Promise<void>;
  /** Tear everything down and stop watching. */
  stop(): Promise<void>;
  list(): PluginStatus[];
  get(name: string): PluginStatus;
  enable(name: string): Promise<PluginStatus>;
  disable(name: string): Promise<PluginStatus>;
  /** Reload one external plugin from disk (or every one, and pick up new files). */
  reload(name?: string): Promise<PluginStatus[]>;
  metrics(): string;
}

export function createPluginHost(deps: PluginHostDeps): PluginHost {
  const { options } = deps;
  const log = deps.log.withTag("plugins");
  const now = deps.now ?? Date.now;
  const records = new Map<string, PluginRecord>();
  let table: ReadonlyMap<HookName, readonly Entry[]> = new Map();
  let order = 0;
  let state: StateFile | null = null;
  let watcher: { stop(): void } | null = null;
  let reloading: Promise<unknown> = Promise.resolve();

  function rebuildTable(): void {
    const next = new Map<HookName, Entry[]>();
    for (const r of records.values())
      if (r.active)
        for (const e of r.entries) (next.get(e.hook) ?? next.set(e.hook, []).get(e.hook)!).push(e);
    for (const list of next.values()) list.sort((a, b) => b.priority - a.priority || a.order - b.order);
    table = next;
  }

  const hooks = createDispatch({
    table: () => table,
    onSuccess(e) {
      const r = records.get(e.plugin);
      if (r) r.streak = 0;
    },
    onFailure(e, err, kind) {
      const r = records.get(e.plugin);
      e.stats.failures++;
      if (kind === "timeout") e.stats.timeouts++;
      if (kind === "invalid") e.stats.invalid++;
      if (r) failed(r, errorMessage(err), kind);
    },
  });

  function failed(r: PluginRecord, message: string, kind: FailureKind | "timer"): void {
    r.streak++;
    r.lastError = { message: message.slice(0, 1000), at: now() };
    log.warn("plugin handler failed, skipped", { plugin: nameOf(r), kind, error: message.slice(0, 300) });
    if (r.active && r.streak >= options.maxFailures) {
      const reason = `disabled after ${r.streak} failures in a row; last: ${message.slice(0, 300)}`;
      log.error("plugin disabled automatically", { plugin: nameOf(r), reason });
      r.autoDisabled = reason;
      state?.set(nameOf(r), { enabled: false, autoDisabled: reason, at: now() });
      void deactivate(r);
    }
  }

  function wantsEnabled(r: PluginRecord): boolean {
    const s = state?.get(nameOf(r));
    if (s) return s.enabled;
    return r.source === "external" || options.enabled.includes(nameOf(r));
  }

  /** Parse config, run setup, commit handlers. Throws a PluginError; leaves the record inactive. */
  async function activate(r: PluginRecord, def: PluginDefinition, timers: TimerScope): Promise<void> {
    let done: Awaited<ReturnType<typeof runSetup>>;
    try {
      done = await runSetup(def, options.config[def.name], {
        log: deps.log,
        read: deps.read,
        send: deps.send,
        isActive: () => r.active,
        budgetMs: SETUP_BUDGET_MS,
      });
    } catch (err) {
      timers.close();
      throw err;
    }
    r.def = def;
    r.timers = timers;
    r.teardown = done.teardown;
    r.entries = done.registrations.map((reg) => {
      const key = reg.hook;
      const stats = r.stats.get(key) ?? r.stats.set(key, newHookStats()).get(key)!;
      return { plugin: r.key, ...reg, order: order++, stats };
    });
    r.active = true;
    r.streak = 0;
    r.loadedAt = now();
    rebuildTable();
  }

  async function deactivate(r: PluginRecord): Promise<void> {
    if (!r.active) return;
    r.active = false;
    rebuildTable();
    const teardown = r.teardown;
    r.teardown = null;
    try {
      if (teardown)
        await withBudget(
          Promise.resolve().then(teardown),
          TEARDOWN_BUDGET_MS,
          () => new PluginTimeoutError(nameOf(r), "teardown", TEARDOWN_BUDGET_MS),
        );
    } catch (err) {
      log.warn("plugin teardown failed", { plugin: nameOf(r), error: errorMessage(err) });
    } finally {
      r.timers?.close();
      r.timers = null;
    }
  }

  const timerScope = (r: () => PluginRecord | undefined) =>
    createTimerScope((err) => {
      const rec = r();
      if (rec) failed(rec, `timer: ${errorMessage(err)}`, "timer");
    });

  async function tryActivate(r: PluginRecord, def: PluginDefinition, timers: TimerScope): Promise<boolean> {
    try {
      await activate(r, def, timers);
      r.loadError = null;
      return true;
    } catch (err) {
      r.loadError = errorMessage(err);
      r.lastError = { message: r.loadError, at: now() };
      log.error("plugin not loaded", { plugin: def.name, error: r.loadError });
      return false;
    }
  }

  /** Load (or reload) an external source. The running version stays if the new one fails. */
  async function loadExternal(src: PluginSource): Promise<PluginRecord | null> {
    const existing = [...records.values()].find((r) => r.src?.entry === src.entry);
    let rec: PluginRecord | undefined = existing;
    const timers = timerScope(() => rec);
    let def: PluginDefinition;
    try {
      def = await withBudget(
        importPlugin(src, options.cacheDir, timers),
        LOAD_BUDGET_MS,
        () => new PluginTimeoutError(src.id, "loading", LOAD_BUDGET_MS),
      );
    } catch (err) {
      timers.close();
      const message = errorMessage(err);
      log.error(
        existing?.active ? "plugin reload failed, keeping the running version" : "plugin not loaded",
        {
          source: src.id,
          error: message,
        },
      );
      if (existing) {
        existing.loadError = message;
        existing.lastError = { message, at: now() };
        return existing;
      }
      const broken = newRecord(`file:${src.id}`, "external", src);
      broken.loadError = message;
      broken.lastError = { message, at: now() };
      records.set(broken.key, broken);
      return broken;
    }
    const clash = records.get(def.name);
    if (clash && clash !== existing) {
      timers.close();
      const message = `plugin "${def.name}" from ${src.id} clashes with the ${clash.source} plugin of that name; not loaded`;
      log.error("plugin not loaded", { source: src.id, error: message });
      const broken = existing ?? newRecord(`file:${src.id}`, "external", src);
      broken.loadError = message;
      broken.lastError = { message, at: now() };
      records.set(broken.key, broken);
      return broken;
    }
    if (existing && existing.key !== def.name) {
      records.delete(existing.key);
      await deactivate(existing);
    }
    rec = existing && existing.key === def.name ? existing : newRecord(def.name, "external", src);
    records.set(def.name, rec);
    rec.src = src;
    if (!wantsEnabled(rec)) {
      timers.close();
      await deactivate(rec);
      rec.def = def;
      rec.loadError = null;
      return rec;
    }
    const previous = rec.active ? rec.def : null;
    await deactivate(rec);
    if (await tryActivate(rec, def, timers)) {
      if (previous) log.info("plugin reloaded", { plugin: def.name, version: def.version });
      return rec;
    }
    if (previous) {
      // The new version's setup failed: bring the old one back.
      const err = rec.loadError;
      if (
        await tryActivate(
          rec,
          previous,
          timerScope(() => rec),
        )
      )
        rec.loadError = err;
    } else rec.def = def;
    return rec;
  }

  const status = (r: PluginRecord) => toStatus(r, wantsEnabled(r));

  function find(name: string): PluginRecord {
    const r = records.get(name) ?? records.get(`file:${name}`);
    if (!r) throw new PluginNotFoundError(name);
    return r;
  }

  /** Serialize reloads and enable/disable so two changes never interleave. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = reloading.then(fn, fn);
    reloading = next.catch(() => {});
    return next;
  }

  async function scan(only?: PluginRecord): Promise<void> {
    const sources = only?.src ? [only.src] : discoverPlugins(options.dir);
    for (const src of sources) await loadExternal(src);
    if (!only) {
      const present = new Set(sources.map((s) => s.entry));
      for (const r of [...records.values()])
        if (r.source === "external" && r.src && !present.has(r.src.entry)) {
          await deactivate(r);
          records.delete(r.key);
          log.info("plugin removed", { plugin: nameOf(r) });
        }
    }
  }

  return {
    hooks,
    async start() {
      if (options.stateFile) state = openStateFile(options.stateFile, (msg) => log.warn(msg));
      for (const raw of deps.builtins ?? BUILTINS) {
        const def = checkDefinition(raw.name, raw);
        const r = newRecord(def.name, "builtin");
        r.def = def;
        records.set(def.name, r);
        const s = state?.get(def.name);
        if (s?.autoDisabled) r.autoDisabled = s.autoDisabled;
        if (wantsEnabled(r))
          await tryActivate(
            r,
            def,
            timerScope(() => r),
          );
      }
      await serial(() => scan());
      for (const r of records.values()) {
        const s = state?.get(nameOf(r));
        if (s?.autoDisabled && !r.active) r.autoDisabled = s.autoDisabled;
      }
      if (options.watch)
        watcher = createWatcher({
          dir: options.dir,
          log,
          onChange: (entry) =>
            serial(async () => {
              const r = [...records.values()].find((x) => x.src?.entry === entry || x.src?.path === entry);
              await scan(r);
            }),
          onRescan: () => serial(() => scan()),
        });
      const active = [...records.values()].filter((r) => r.active).map(nameOf);
      if (records.size > 0) log.info("plugins ready", { active, known: records.size });
    },
    async stop() {
      watcher?.stop();
      watcher = null;
      await serial(async () => {
        for (const r of records.values()) await deactivate(r);
      });
    },
    list: () => [...records.values()].map(status).sort((a, b) => a.name.localeCompare(b.name)),
    get: (name) => status(find(name)),
    enable: (name) =>
      serial(async () => {
        const r = find(name);
        r.autoDisabled = null;
        r.streak = 0;
        state?.set(nameOf(r), { enabled: true, at: now() });
        if (r.active) return status(r);
        if (r.source === "external") await scan(r);
        else if (r.def)
          await tryActivate(
            r,
            r.def,
            timerScope(() => r),
          );
        return status(r);
      }),
    disable: (name) =>
      serial(async () => {
        const r = find(name);
        state?.set(nameOf(r), { enabled: false, at: now() });
        r.autoDisabled = null;
        await deactivate(r);
        return status(r);
      }),
    reload: (name) =>
      serial(async () => {
        if (name === undefined) {
          await scan();
          return [...records.values()].map(status);
        }
        const r = find(name);
        if (r.source !== "external")
          throw new PluginError(nameOf(r), "is built in; only external plugins reload");
        await scan(r);
        return [status(records.get(r.def?.name ?? r.key) ?? r)];
      }),
    metrics: () =>
      renderPluginMetrics(
        [...records.values()].map((r) => ({ name: nameOf(r), active: r.active, stats: r.stats })),
      ),
  };
}

export const pluginCacheDir = (dataDir: string) => join(dataDir, "plugins-cache");
