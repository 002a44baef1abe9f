/**
 * What external plugin code can import from the host at runtime: `ngb/plugin` (definePlugin,
 * the hook names, valibot as `v`), `ngb/plugin/testing` (a real host for one plugin, for tests)
 * and `valibot` itself. They are Bun virtual modules, so a plugin needs no node_modules and
 * gets the exact versions inside the running binary.
 */
import * as valibot from "valibot";
import { testPlugin } from "./testing.ts";
import { CHANGING_HOOKS, definePlugin, HOOK_NAMES, OBSERVING_HOOKS } from "./define.ts";

export const SDK_MODULES = ["ngb/plugin", "ngb/plugin/testing", "valibot"] as const;

let registered = false;

export function registerSdkModules(): void {
  if (registered) return;
  registered = true;
  Bun.plugin({
    name: "ngb-plugin-sdk",
    setup(build) {
      build.module("ngb/plugin", () => ({
        exports: { definePlugin, HOOK_NAMES, CHANGING_HOOKS, OBSERVING_HOOKS, v: valibot },
        loader: "object",
      }));
      build.module("ngb/plugin/testing", () => ({ exports: { testPlugin }, loader: "object" }));
      build.module("valibot", () => ({ exports: { ...valibot }, loader: "object" }));
    },
  });
}
