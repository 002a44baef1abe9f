/**
 * `ngb doctor`: checks what a user needs and prints a fix for each failure. Exit 1 if any
 * check fails (warnings do not fail).
 */
import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { defineCommand } from "citty";
import type { Config } from "../config/index.ts";
import { globalArgs, jsonArg, loadContext } from "./common.ts";

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

async function run(cmd: string[], timeoutMs = 10_000): Promise<{ code: number; out: string; err: string }> {
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

export async function containerChecks(config: Config): Promise<CheckResult[]> {
  const bin = config.container.runtime;
  if (bin === "kubernetes") return (await import("../container/kube-checks.ts")).kubeChecks(config.container);
  const out: CheckResult[] = [];
  const found = Bun.which(bin);
  if (!found) {
    return [
      {
        name: "container CLI",
        status: "fail",
        detail: `"${bin}" not found on PATH`,
        fix: "install Docker (or podman and set container.runtime to podman)",
      },
    ];
  }
  out.push({ name: "container CLI", status: "ok", detail: found });
  const info = await run([bin, "version", "--format", "{{.Server.Version}}"]);
  // Where the engine is decides the transport (judged from its endpoint, reachable or not).
  const { transportCheck } = await import("../container/engine-location.ts");
  const { childEnv } = await import("../config/index.ts");
  out.push(await transportCheck(config.container, childEnv(), run));
  if (info.code !== 0 || !info.out) {
    out.push({
      name: "container engine",
      status: "fail",
      detail: (info.err.split("\n")[0] ?? "").slice(0, 200) || "engine not reachable",
      fix: "start the engine (systemctl start docker) or set DOCKER_HOST to a reachable engine",
    });
    return out;
  }
  out.push({ name: "container engine", status: "ok", detail: `server ${info.out}` });
  const image = await run([bin, "image", "inspect", "--format", "{{.Id}}", config.container.image]);
  out.push(
    image.code === 0
      ? { name: "agent image", status: "ok", detail: `${config.container.image} ${image.out.slice(7, 19)}` }
      : {
          name: "agent image",
          status: "fail",
          detail: `${config.container.image} is not present`,
          fix: "build it with `ngb image build`",
        },
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
  const hasKey = Boolean(config.anthropic.apiKey || config.anthropic.authToken);
  results.push(
    hasKey
      ? {
          name: "Anthropic credentials",
          status: "ok",
          detail: config.anthropic.apiKey ? "API key set" : "OAuth token set",
        }
      : {
          name: "Anthropic credentials",
          status: "fail",
          detail: "no API key or OAuth token configured",
          fix: "set ANTHROPIC_API_KEY (or NGB_ANTHROPIC_API_KEY) in the environment or .env",
        },
  );
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
  meta: { name: "doctor", description: "Check the setup and say how to fix what is wrong" },
  args: { ...globalArgs, ...jsonArg },
  async run({ args }) {
    const { config, configFile, envFile } = await loadContext({
      ...args,
      "log-level": args["log-level"] ?? "warn",
    });
    const results = await runChecks(config, { configFile, envFile });
    if (args.json) process.stdout.write(`${JSON.stringify(results)}\n`);
    else {
      const mark = { ok: "✓", warn: "!", fail: "✗" } as const;
      for (const r of results) {
        process.stdout.write(`${mark[r.status]} ${r.name}: ${r.detail}\n`);
        if (r.fix && r.status !== "ok") process.stdout.write(`    fix: ${r.fix}\n`);
      }
    }
    const failed = results.filter((r) => r.status === "fail").length;
    if (!args.json) process.stdout.write(failed ? `\n${failed} problem(s) found\n` : "\nall good\n");
    process.exitCode = failed ? 1 : 0;
  },
});
