/**
 * `ngb plugins list | enable | disable | reload | new | test`. list/enable/disable/reload talk to
 * the running serve over its API (the change is persisted there); `new` scaffolds a plugin in
 * the plugins directory; `test` runs a plugin's tests inside this binary.
 */
import { defineCommand } from "citty";
import { UserError } from "../util/errors.ts";
import { globalArgs, jsonArg, loadContext, printTable, UsageError } from "./common.ts";
import { errorText, serveFetch, serveTarget } from "./serve-client.ts";

interface PluginRow {
  name: string;
  version: string | null;
  source: string;
  status: string;
  hooks: { hook: string }[];
  calls: number;
  failures: number;
  lastError: { message: string } | null;
}

const url = {
  url: { type: "string", description: "Base URL of ngb serve (default from web.host / web.port)" },
} as const;
const nameArg = { name: { type: "positional", description: "Plugin name", required: true } } as const;

async function call(
  args: { url?: string } & Parameters<typeof loadContext>[0],
  path: string,
  method = "GET",
) {
  const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
  const res = await serveFetch(await serveTarget(config, args.url), path, { method });
  if (!res.ok) throw new UserError(await errorText(res));
  return res.json() as Promise<{ plugins?: PluginRow[]; plugin?: PluginRow }>;
}

function print(rows: PluginRow[], json: boolean | undefined) {
  if (json) return void process.stdout.write(`${JSON.stringify(rows)}\n`);
  printTable(
    rows.map((p) => ({
      name: p.name,
      version: p.version,
      source: p.source,
      status: p.status,
      hooks: p.hooks.map((h) => h.hook).join(",") || null,
      calls: p.calls,
      failures: p.failures,
      "last error": p.lastError?.message ?? null,
    })),
  );
}

const toggle = (action: "enable" | "disable" | "reload") =>
  defineCommand({
    meta: {
      name: action,
      description:
        action === "reload"
          ? "Reload an external plugin from disk (or all of them, without a name)"
          : `${action === "enable" ? "Enable" : "Disable"} a plugin in the running serve (persists)`,
    },
    args: {
      ...globalArgs,
      ...jsonArg,
      ...url,
      name: { ...nameArg.name, required: action !== "reload" },
    },
    async run({ args }) {
      const name = args.name as string | undefined;
      const path = name ? `/api/plugins/${encodeURIComponent(name)}/${action}` : "/api/plugins/reload";
      const body = await call(args, path, "POST");
      print(body.plugins ?? (body.plugin ? [body.plugin] : []), args.json);
    },
  });

export default defineCommand({
  meta: { name: "plugins", description: "List, enable, disable, reload, create and test plugins" },
  subCommands: {
    list: defineCommand({
      meta: { name: "list", description: "Plugins of the running serve: status, hooks, calls, failures" },
      args: { ...globalArgs, ...jsonArg, ...url },
      async run({ args }) {
        print((await call(args, "/api/plugins")).plugins ?? [], args.json);
      },
    }),
    enable: toggle("enable"),
    disable: toggle("disable"),
    reload: toggle("reload"),
    new: defineCommand({
      meta: {
        name: "new",
        description: "Scaffold a plugin (with types and a test) in the plugins directory",
      },
      args: { ...globalArgs, ...nameArg },
      async run({ args }) {
        const { PLUGIN_NAME, scaffoldPlugin } = await import("../plugins/scaffold.ts");
        if (!PLUGIN_NAME.test(args.name))
          throw new UsageError(
            `ngb plugins new: "${args.name}" is not a plugin name (lowercase letters, digits, dashes)`,
          );
        const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
        let files: string[];
        try {
          files = await scaffoldPlugin(config.plugins.dir, args.name);
        } catch (err) {
          throw new UserError((err as Error).message);
        }
        for (const f of files) process.stdout.write(`created ${f}\n`);
        process.stdout.write(
          `\nTest it:  ngb plugins test ${args.name}\nA running serve loads it within seconds (external plugins are on unless disabled).\n`,
        );
      },
    }),
    test: defineCommand({
      meta: { name: "test", description: "Run a plugin's *.test.ts files inside this binary" },
      args: {
        ...globalArgs,
        name: {
          type: "positional",
          description: "Plugin folder or file in the plugins directory",
          required: true,
        },
      },
      async run({ args }) {
        const { existsSync, readdirSync, statSync } = await import("node:fs");
        const { join } = await import("node:path");
        const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
        const base = join(config.plugins.dir, args.name);
        const files =
          existsSync(base) && statSync(base).isDirectory()
            ? readdirSync(base)
                .filter((f) => /\.test\.[mc]?[tj]s$/.test(f))
                .sort()
                .map((f) => join(base, f))
            : [`${base}.test.ts`, `${base}.test.js`].filter((f) => existsSync(f));
        if (files.length === 0)
          throw new UserError(`no test files for plugin "${args.name}" in ${config.plugins.dir}`);
        const { runPluginTests } = await import("../plugins/test-runner.ts");
        const { pluginCacheDir } = await import("../plugins/index.ts");
        const r = await runPluginTests(files, pluginCacheDir(config.dataDir), (line) =>
          process.stdout.write(`${line}\n`),
        );
        process.stdout.write(`\n${r.passed} pass, ${r.failed} fail\n`);
        if (r.failed > 0) process.exitCode = 1;
      },
    }),
  },
});
