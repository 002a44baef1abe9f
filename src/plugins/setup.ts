/**
 * Starting one plugin: its config parsed by its schema (an error names the key), then its
 * `setup(api)` within a budget; registrations count only if setup succeeds.
 */
import * as v from "valibot";
import type { Logger } from "../log/index.ts";
import { errorMessage } from "../util/errors.ts";
import { createPluginApi, type PluginReadDeps, type Registration } from "./api.ts";
import { withBudget } from "./budget.ts";
import { PluginConfigError, PluginError, PluginTimeoutError } from "./errors.ts";
import type { PluginDefinition, Teardown } from "./types.ts";

export function parsePluginConfig(def: PluginDefinition, raw: unknown): unknown {
  if (!def.config) return raw;
  const res = v.safeParse(def.config, raw ?? {});
  if (res.success) return res.output;
  const issue = res.issues[0];
  const path = issue.path?.map((p: { key: unknown }) => String(p.key)).join(".");
  throw new PluginConfigError(
    def.name,
    `config plugins.config.${def.name}${path ? `.${path}` : ""}: ${issue.message}`,
  );
}

export async function runSetup(
  def: PluginDefinition,
  rawConfig: unknown,
  deps: {
    log: Logger;
    read: PluginReadDeps;
    send: (jid: string, text: string, plugin: string) => Promise<void>;
    isActive: () => boolean;
    budgetMs: number;
  },
): Promise<{ teardown: Teardown | null; registrations: Registration[] }> {
  const name = def.name;
  const config = parsePluginConfig(def, rawConfig);
  const scope = createPluginApi({
    name,
    config,
    log: deps.log,
    read: deps.read,
    send: deps.send,
    isActive: deps.isActive,
  });
  try {
    const out = await withBudget(
      Promise.resolve().then(() => def.setup(scope.api)),
      deps.budgetMs,
      () => new PluginTimeoutError(name, "setup", deps.budgetMs),
    );
    if (out !== undefined && typeof out !== "function")
      throw new PluginError(name, "setup must return nothing or a teardown function");
    return { teardown: out ?? null, registrations: scope.registrations };
  } catch (err) {
    throw err instanceof PluginError ? err : new PluginError(name, `setup failed: ${errorMessage(err)}`);
  } finally {
    scope.seal();
  }
}
