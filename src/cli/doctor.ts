/**
 * `ngb doctor`: checks what a user needs and prints a fix for each failure. Exit 1 if any
 * check fails (warnings do not fail).
 */
import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { defineCommand } from "citty";
import type { Config } from "../config/index.ts";
import { globalArgs, jsonArg, loadContext } from "./common.ts";
import type { FixableResult } from "./doctor-serve.ts";

export interface CheckResult {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  fix?: string;
}

function writableDir(name: string, dir: string): CheckResult {
  try {
    // data and store are private (0700); groups/ is mounted into containers.
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: name === "groupsDir" ? 0o755 : 0o700 });
    accessSync(dir, constants.W_OK);
    return { name, status: "ok", detail: dir };
  } catch (err) {
    return {
      name,
      status: "fail",
      detail: `${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? err})`,
      fix: `create it and give this user write access, or point ${name} elsewhere in ngb.config.json`,
    };
  }
}

/** Engine and agent image, checked exactly as setup and serve's readiness check them. */
export async function containerChecks(config: Config): Promise<CheckResult[]> {
  if (config.container.runtime === "kubernetes")
    return (await import("../container/kube-checks.ts")).kubeChecks(config.container);
  const { checkEngine, checkImage } = await import("../health/index.ts");
  const engine = await checkEngine(config);
  const out: CheckResult[] = [{ name: "container engine", ...engine }];
  // Where the engine is decides the transport (judged from its endpoint, reachable or not).
  const { transportCheck } = await import("../container/engine-location.ts");
  const { childEnv } = await import("../config/index.ts");
  out.push(await transportCheck(config.container, childEnv(), runQuiet));
  out.push(
    engine.status === "ok"
      ? { name: "agent image", ...(await checkImage(config)) }
      : { name: "agent image", status: "warn", detail: "not checked: the engine does not answer" },
  );
  return out;
}

export async function runChecks(
  config: Config,
  files: { configFile?: string; envFile?: string } = {},
): Promise<CheckResult[]> {
  const results: CheckResult[] = [
    writableDir("dataDir", config.dataDir),
    writableDir("groupsDir", config.groupsDir),
    writableDir("storeDir", config.storeDir),
  ];
  // Before the store is opened: opening it tightens the modes this reports.
  const { securityChecks } = await import("./doctor-security.ts");
  const { containerUser } = await import("../container/index.ts");
  const security = securityChecks(config, { ...files, containerUser: containerUser(config.container) });
  try {
    const { openStore, storeFile } = await import("../store/index.ts");
    const store = openStore(storeFile(config));
    const groups = store.groups.list();
    store.close();
    results.push({
      name: "store",
      status: "ok",
      detail: `${storeFile(config)} (${groups.length} group${groups.length === 1 ? "" : "s"})`,
    });
    if (!groups.some((g) => g.isMain))
      results.push({
        name: "main group",
        status: "warn",
        detail: "no main (admin) group registered",
        fix: "ngb groups add web:default --folder main --main",
      });
  } catch (err) {
    results.push({
      name: "store",
      status: "fail",
      detail: (err as Error).message,
      fix: "see the message above",
    });
  }
  results.push(...security);
  results.push(...(await containerChecks(config)));
  const { mountAllowlistCheck } = await import("../mounts/index.ts");
  results.push({ name: "mount allowlist", ...mountAllowlistCheck(config.container.mountAllowlistPath) });
  const { credentialsCheck } = await import("./doctor-serve.ts");
  results.push(await credentialsCheck(config));
  results.push(...(await channelChecks(config)));
  return results;
}

/** One check per enabled channel, from the registry: build it and verify its credentials. */
export async function channelChecks(config: Config): Promise<CheckResult[]> {
  const { channelDefinition, channelDefinitions, createChannel, enabledChannelNames } = await import(
    "../channels/index.ts"
  );
  const { silentLogger } = await import("../log/index.ts");
  let names: string[];
  try {
    names = enabledChannelNames(config);
  } catch (err) {
    return [
      { name: "channels", status: "fail", detail: (err as Error).message, fix: "fix the channel config" },
    ];
  }
  if (names.length === 0) {
    const known = channelDefinitions().map((d) => d.name);
    return [
      {
        name: "channels",
        status: "ok",
        detail: `only the built-in web channel is enabled (available: ${known.join(", ")})`,
      },
    ];
  }
  const out: CheckResult[] = [];
  for (const name of names) {
    const def = channelDefinition(name)!;
    const keys = [...def.secretKeys, "apiBaseUrl"].filter((k) => k in def.configSchema.entries);
    const fix = `check ${keys.map((k) => `channels.${name}.${k}`).join(", ") || `channels.${name}`} in the config`;
    try {
      const channel = await createChannel(def, { config, log: silentLogger() });
      if (!channel.verify) {
        out.push({
          name: `channel ${name}`,
          status: "ok",
          detail: "enabled (nothing to verify before connecting)",
        });
        continue;
      }
      const r = await channel.verify().catch((err: Error) => ({ ok: false, detail: err.message }));
      out.push({
        name: `channel ${name}`,
        status: r.ok ? "ok" : "fail",
        detail: r.detail,
        fix: r.ok ? undefined : fix,
      });
    } catch (err) {
      out.push({ name: `channel ${name}`, status: "fail", detail: (err as Error).message, fix });
    }
  }
  return out;
}

export default defineCommand({
  meta: {
    name: "doctor",
    description: "Check the setup and the running serve, and say how to fix what is wrong",
  },
  args: {
    ...globalArgs,
    ...jsonArg,
    fix: {
      type: "boolean",
      description: "Repair what can be repaired here (image, memory files, .env mode)",
    },
    url: {
      type: "string",
      description: "Base URL of the running ngb serve (default from web.host / web.port)",
    },
  },
  async run({ args }) {
    let config: Config;
    let configFile: string | undefined;
    let envFile: string | undefined;
    try {
      // The loader serve uses: a value serve would refuse fails here the same way.
      ({ config, configFile, envFile } = await loadContext({
        ...args,
        "log-level": args["log-level"] ?? "warn",
      }));
    } catch (err) {
      const failed: CheckResult = {
        name: "config",
        status: "fail",
        detail: (err as Error).message,
        fix: "correct the value named above (`ngb config schema` lists every key)",
      };
      report([failed], args.json === true);
      process.exitCode = 1;
      return;
    }
    const { serverChecks, serveConfigChecks, attachRepairs } = await import("./doctor-serve.ts");
    const server = await serverChecks(config, args.url);
    const results: FixableResult[] = [
      { name: "config", status: "ok", detail: "valid (same loader as ngb serve)" },
      ...(await serveConfigChecks(config, server.running)),
      ...(await runChecks(config, { configFile, envFile })),
      ...server.results,
    ];
    await attachRepairs(config, results);
    if (args.fix) {
      for (const r of results) {
        if (!r.repair || r.status === "ok") continue;
        try {
          const done = await r.repair();
          Object.assign(r, { status: "ok", detail: `fixed: ${done}`, fix: undefined });
        } catch (err) {
          r.detail = `${r.detail}; --fix failed: ${(err as Error).message}`;
        }
      }
    }
    report(results, args.json === true, !args.fix);
    process.exitCode = results.some((r) => r.status === "fail") ? 1 : 0;
  },
});

function report(results: FixableResult[], json: boolean, hintFix = false): void {
  if (json) {
    const plain = results.map(({ repair, ...r }) => ({
      ...r,
      fixable: repair !== undefined && r.status !== "ok",
    }));
    process.stdout.write(`${JSON.stringify(plain)}\n`);
    return;
  }
  const mark = { ok: "✓", warn: "!", fail: "✗" } as const;
  for (const r of results) {
    process.stdout.write(`${mark[r.status]} ${r.name}: ${r.detail}\n`);
    if (r.fix && r.status !== "ok") process.stdout.write(`    fix: ${r.fix}\n`);
  }
  const failed = results.filter((r) => r.status === "fail").length;
  const fixable = results.filter((r) => r.repair && r.status !== "ok").length;
  process.stdout.write(failed ? `\n${failed} problem(s) found\n` : "\nall good\n");
  if (hintFix && fixable > 0) process.stdout.write(`${fixable} can be repaired here: ngb doctor --fix\n`);
}

/** A short command's exit code and trimmed stdout/stderr (never throws). */
async function runQuiet(
  cmd: string[],
  timeoutMs = 10_000,
): Promise<{ code: number; out: string; err: string }> {
  try {
    const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const timer = setTimeout(() => p.kill(), timeoutMs);
    const [out, err, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    clearTimeout(timer);
    return { code, out: out.trim(), err: err.trim() };
  } catch (err) {
    return { code: -1, out: "", err: (err as Error).message };
  }
}
