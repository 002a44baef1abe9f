/**
 * `ngb setup`: from nothing to the first reply. Checks the container engine (and says how to
 * get one; retrying picks up an engine started meanwhile), builds the agent image with
 * progress, takes an Anthropic API key or a Claude subscription token and verifies it with a
 * real request, offers each channel with its credentials verified on the spot, saves
 * everything at the end in one go (settings in the config file, secrets in `.env` mode 0600),
 * offers the service where `ngb service` exists, and sends a first message.
 * Interactive on a terminal; `--yes` (or no terminal) runs the same steps from flags.
 */
import { resolve } from "node:path";
import { defineCommand } from "citty";
import type { Config } from "../config/index.ts";
import { UserError } from "../util/errors.ts";
import { globalArgs, loadContext, UsageError } from "./common.ts";
import type { Prompter } from "../setup/prompter.ts";

const DEFAULT_MESSAGE = "Hello! Who are you? Answer in one sentence.";

export interface SetupArgs {
  yes?: boolean;
  "api-key"?: string;
  "oauth-token"?: string;
  "base-url"?: string;
  image?: string;
  build?: string;
  offline?: boolean;
  "skip-verify"?: boolean;
  telegram?: string;
  discord?: string;
  "slack-bot-token"?: string;
  "slack-app-token"?: string;
  whatsapp?: boolean;
  service?: boolean;
  message?: string;
  "skip-message"?: boolean;
  timeout?: string;
}

/** Every secret given by flag is checked for shape first: a bad one fails before any slow step or request. */
async function preflight(args: SetupArgs): Promise<void> {
  const { credentialShapeProblem } = await import("../health/index.ts");
  if (args["api-key"] !== undefined && args["oauth-token"] !== undefined)
    throw new UsageError("ngb setup: give --api-key or --oauth-token, not both");
  for (const [flag, kind] of [
    ["api-key", "apiKey"],
    ["oauth-token", "authToken"],
  ] as const) {
    const value = args[flag];
    const problem = value === undefined ? null : credentialShapeProblem(value, kind);
    if (problem) throw new UserError(`--${flag}: ${problem}`);
  }
  const { SETUP_CHANNELS, fieldProblem } = await import("../setup/channels.ts");
  const flagged: [string, string, string | undefined][] = [
    ["telegram", "botToken", args.telegram],
    ["discord", "botToken", args.discord],
    ["slack", "botToken", args["slack-bot-token"]],
    ["slack", "appToken", args["slack-app-token"]],
  ];
  for (const [name, key, value] of flagged) {
    const channel = SETUP_CHANNELS.find((c) => c.name === name);
    const field = channel?.fields.find((f) => f.key === key);
    const problem = value !== undefined && channel && field ? fieldProblem(channel, field, value) : null;
    if (problem) throw new UserError(problem);
  }
  if ((args["slack-bot-token"] === undefined) !== (args["slack-app-token"] === undefined))
    throw new UsageError(
      "ngb setup: Slack needs both --slack-bot-token (xoxb-…) and --slack-app-token (xapp-…)",
    );
}

/** What the steps gathered; nothing is written until the end. */
interface Plan {
  settings: Record<string, unknown>;
  secrets: Record<string, string | undefined>;
  engineOk: boolean;
  imageOk: boolean;
  credentialsOk: boolean;
}

async function engineStep(config: Config, ui: Prompter): Promise<boolean> {
  const { checkEngine } = await import("../health/index.ts");
  for (;;) {
    const c = await checkEngine(config);
    if (c.status === "ok") {
      ui.ok(c.detail);
      return true;
    }
    if (!ui.interactive) throw new UserError(`container engine: ${c.detail}; fix: ${c.fix}`);
    ui.error(`${c.detail}\n  fix: ${c.fix}`);
    const next = await ui.select({
      message: "Container engine",
      initial: "retry",
      choices: [
        { value: "retry", label: "Check again", hint: "after installing or starting it" },
        { value: "skip", label: "Continue without", hint: "agents cannot run until it works" },
      ],
    });
    if (next === "skip") return false;
  }
}

async function imageStep(config: Config, args: SetupArgs, ui: Prompter): Promise<boolean> {
  const { checkImage } = await import("../health/index.ts");
  const { buildAgentImage } = await import("../image/index.ts");
  const mode = args.build ?? "auto";
  const status = await checkImage(config);
  if (mode === "never" || (mode === "auto" && status.status === "ok")) {
    (status.status === "fail" ? ui.warn : ui.ok)(status.detail);
    return status.status !== "fail";
  }
  if (ui.interactive && status.status !== "ok") {
    ui.info(status.detail);
    if (
      !(await ui.confirm({
        message: "Build the agent image now? (a few minutes the first time)",
        initial: true,
      }))
    )
      return false;
  }
  let offline = args.offline === true;
  for (;;) {
    const spin = ui.spin(`building ${config.container.image}${offline ? " (offline base)" : ""}`);
    try {
      const r = await buildAgentImage({
        runtime: config.container.runtime,
        image: config.container.image,
        offline,
        dataDir: config.dataDir,
        onProgress: (line) => spin.update(line),
        log: (line) => spin.update(line),
      });
      spin.done(`${r.image} ready in ${(r.totalMs / 1000).toFixed(0)} s`);
      return true;
    } catch (err) {
      const msg = (err as Error).message;
      spin.fail(msg);
      const canOffline = !offline && /--offline/.test(msg);
      if (!ui.interactive) throw new UserError(`agent image: ${msg}`);
      const next = await ui.select({
        message: "The image build failed",
        initial: canOffline ? "offline" : "retry",
        choices: [
          ...(canOffline
            ? [{ value: "offline" as const, label: "Build offline", hint: "base from this machine's files" }]
            : []),
          { value: "retry" as const, label: "Try again" },
          { value: "skip" as const, label: "Continue without", hint: "ngb image build later" },
        ],
      });
      if (next === "skip") return false;
      if (next === "offline") offline = true;
    }
  }
}

async function credentialsStep(config: Config, args: SetupArgs, ui: Prompter, plan: Plan): Promise<boolean> {
  const { credentialShapeProblem, credentialKindOf, verifyCredentials } = await import("../health/index.ts");
  type Kind = "apiKey" | "authToken";
  const baseUrl = args["base-url"] ?? config.anthropic.baseUrl;
  let kind: Kind | undefined =
    args["api-key"] !== undefined ? "apiKey" : args["oauth-token"] !== undefined ? "authToken" : undefined;
  let value = args["api-key"] ?? args["oauth-token"];
  if (value === undefined) {
    const existing = config.anthropic.apiKey ?? config.anthropic.authToken;
    const existingKind: Kind = config.anthropic.apiKey ? "apiKey" : "authToken";
    if (
      existing &&
      (!ui.interactive ||
        (await ui.confirm({ message: "Use the Anthropic credentials already configured?", initial: true })))
    ) {
      kind = existingKind;
      value = existing;
    }
  }
  for (;;) {
    if (value === undefined) {
      kind = await ui.select<Kind>({
        message: "How should agents reach Claude?",
        initial: "apiKey",
        choices: [
          {
            value: "apiKey",
            label: "Anthropic API key",
            hint: "console.anthropic.com → API keys (sk-ant-api…)",
          },
          {
            value: "authToken",
            label: "Claude subscription",
            hint: "run `claude setup-token` (sk-ant-oat…)",
          },
        ],
      });
      const k = kind;
      value = await ui.secret({
        message: k === "apiKey" ? "API key" : "Subscription token",
        flag: "--api-key <key> (or --oauth-token <token>)",
        validate: (s) => credentialShapeProblem(s, k),
      });
    }
    const k: Kind = kind ?? credentialKindOf(value) ?? "apiKey";
    const problem = credentialShapeProblem(value, k);
    if (problem) {
      if (!ui.interactive)
        throw new UserError(`Anthropic ${k === "apiKey" ? "API key" : "token"}: ${problem}`);
      ui.error(problem);
      value = undefined;
      continue;
    }
    if (args["skip-verify"]) ui.warn("not verified (--skip-verify)");
    else {
      const spin = ui.spin(`checking with ${new URL(baseUrl).host}`);
      const c = await verifyCredentials({
        baseUrl,
        ...(k === "apiKey" ? { apiKey: value } : { authToken: value }),
      });
      if (c.status === "ok") spin.done(c.detail);
      else {
        spin.fail(`${c.detail}${c.fix ? `; fix: ${c.fix}` : ""}`);
        if (!ui.interactive)
          throw new UserError(
            `Anthropic credentials: ${c.detail}; ${c.status === "unverified" ? "pass --skip-verify to save them anyway" : `fix: ${c.fix}`}`,
          );
        const keep =
          c.status === "unverified" && (await ui.confirm({ message: "Save them anyway?", initial: false }));
        if (!keep) {
          value = undefined;
          continue;
        }
      }
    }
    plan.secrets.ANTHROPIC_API_KEY = k === "apiKey" ? value : undefined;
    plan.secrets.CLAUDE_CODE_OAUTH_TOKEN = k === "authToken" ? value : undefined;
    plan.secrets.ANTHROPIC_AUTH_TOKEN = undefined;
    if (args["base-url"]) plan.settings["anthropic.baseUrl"] = args["base-url"];
    return true;
  }
}

async function channelsStep(config: Config, args: SetupArgs, ui: Prompter, plan: Plan): Promise<void> {
  const { SETUP_CHANNELS, fieldProblem, secretEnvName, verifyChannel } = await import("../setup/channels.ts");
  const fromFlags: Record<string, Record<string, string | undefined>> = {
    telegram: { botToken: args.telegram },
    discord: { botToken: args.discord },
    slack: { botToken: args["slack-bot-token"], appToken: args["slack-app-token"] },
  };
  const flagged = SETUP_CHANNELS.filter((c) =>
    c.name === "whatsapp"
      ? args.whatsapp
      : Object.values(fromFlags[c.name] ?? {}).some((x) => x !== undefined),
  ).map((c) => c.name);
  const chosen = ui.interactive
    ? await ui.multiselect({
        message:
          "Connect chat platforms? (space to pick, enter to go on; the built-in web chat is always on)",
        choices: SETUP_CHANNELS.map((c) => ({ value: c.name, label: c.title, hint: c.howTo })),
      })
    : flagged;
  const sections = config.channels as unknown as Record<string, Record<string, unknown>>;
  for (const name of chosen) {
    const channel = SETUP_CHANNELS.find((c) => c.name === name)!;
    for (;;) {
      const values: Record<string, string> = {};
      for (const field of channel.fields) {
        const given = fromFlags[name]?.[field.key];
        values[field.key] =
          given ??
          (await ui.secret({
            message: `${channel.title} ${field.label.toLowerCase()} (${channel.howTo})`,
            flag: `--${name === "slack" ? `slack-${field.key === "botToken" ? "bot" : "app"}-token` : name} <token>`,
            validate: (s) => fieldProblem(channel, field, s),
          }));
        const problem = fieldProblem(channel, field, values[field.key]!);
        if (problem && !ui.interactive) throw new UserError(problem);
      }
      if (channel.fields.length > 0) {
        const spin = ui.spin(`checking with ${channel.title}`);
        const r = await verifyChannel(name, values, { apiBaseUrl: sections[name]?.apiBaseUrl });
        if (!r.ok) {
          spin.fail(`${channel.title}: ${r.detail}`);
          if (!ui.interactive) throw new UserError(`${channel.title}: ${r.detail}; fix: ${channel.howTo}`);
          if (await ui.confirm({ message: `Enter the ${channel.title} credentials again?`, initial: true }))
            continue;
          break;
        }
        spin.done(`${channel.title}: ${r.detail}`);
      } else if (name === "whatsapp" && ui.interactive) {
        ui.info(
          "WhatsApp pairs when ngb serve starts: the QR shows in its log and on the dashboard (Channels).",
        );
      }
      plan.settings[`channels.${name}.enabled`] = true;
      for (const [key, value] of Object.entries(values)) plan.secrets[secretEnvName(name, key)] = value;
      break;
    }
  }
}

async function firstMessage(args: SetupArgs, configFile: string, ui: Prompter): Promise<void> {
  const { loadContext: load } = await import("./common.ts");
  // Read back through the same loader serve uses: what was saved is what runs.
  const { config, log } = await load({ config: configFile, "log-level": "warn" }, { "web.port": 0 });
  const { startRuntime } = await import("../runtime/index.ts");
  const { chatOnce } = await import("./chat-client.ts");
  let runtime: Awaited<ReturnType<typeof startRuntime>>;
  try {
    runtime = await startRuntime({ config, log, quiet: true });
  } catch (err) {
    if (/another ngb serve/.test((err as Error).message)) {
      ui.warn('ngb serve is already running with the old settings: restart it, then try `ngb chat "hello"`');
      return;
    }
    throw err;
  }
  const spin = ui.spin("sending a first message");
  try {
    const { readFileSync } = await import("node:fs");
    const { tokenFile } = await import("../web/token.ts");
    const token = config.web.token ?? readFileSync(tokenFile(config.dataDir), "utf8").trim();
    const replies: string[] = [];
    await chatOnce({
      target: { url: runtime.url.replace("0.0.0.0", "127.0.0.1"), token },
      chatId: "default",
      prompt: args.message ?? DEFAULT_MESSAGE,
      timeoutSec: args.timeout ? Number(args.timeout) : 180,
      progress: {
        enabled: true,
        status: (t) => spin.update(t),
        note: () => undefined,
        clear: () => undefined,
      },
      onReply: (r) => replies.push(r.text),
    });
    spin.done("the agent answered:");
    process.stdout.write(`${replies.join("\n")}\n`);
  } catch (err) {
    spin.fail((err as Error).message);
    throw err;
  } finally {
    await runtime.stop();
  }
}

export default defineCommand({
  meta: {
    name: "setup",
    description: "Guided first run: engine, agent image, Anthropic key, channels, first reply",
  },
  args: {
    ...globalArgs,
    yes: { type: "boolean", alias: "y", description: "No questions: take defaults and the flags below" },
    "api-key": { type: "string", description: "Anthropic API key (sk-ant-api…)" },
    "oauth-token": {
      type: "string",
      description: "Claude subscription token from `claude setup-token` (sk-ant-oat…)",
    },
    "base-url": { type: "string", description: "Anthropic API base URL (default https://api.anthropic.com)" },
    image: { type: "string", description: "Agent image tag to use and save (default container.image)" },
    build: {
      type: "enum",
      options: ["auto", "always", "never"],
      description: "Build the agent image: auto (when missing or outdated), always, never",
    },
    offline: {
      type: "boolean",
      description: "Build the image's base from this machine's files (no registry)",
    },
    "skip-verify": {
      type: "boolean",
      description: "Save credentials that could not be verified (no network)",
    },
    telegram: { type: "string", description: "Telegram bot token (enables Telegram)" },
    discord: { type: "string", description: "Discord bot token (enables Discord)" },
    "slack-bot-token": { type: "string", description: "Slack bot token xoxb-… (with --slack-app-token)" },
    "slack-app-token": { type: "string", description: "Slack app-level token xapp-…" },
    whatsapp: { type: "boolean", description: "Enable WhatsApp (pair with the QR when serve starts)" },
    service: { type: "boolean", description: "Install the background service (where `ngb service` exists)" },
    message: { type: "string", description: "The first message to send at the end" },
    "skip-message": { type: "boolean", description: "Do not send a first message" },
    timeout: { type: "string", description: "Seconds to wait for the first reply (default 180)" },
  },
  async run({ args }) {
    if (args.timeout !== undefined && !(Number(args.timeout) > 0))
      throw new UsageError(
        `ngb setup: --timeout must be a positive number of seconds (got "${args.timeout}")`,
      );
    await preflight(args);
    const flags: Record<string, unknown> = {};
    if (args.image) flags["container.image"] = args.image;
    if (args["base-url"]) flags["anthropic.baseUrl"] = args["base-url"];
    const { config, configFile } = await loadContext(
      { ...args, "log-level": args["log-level"] ?? "warn" },
      flags,
    );
    const target = resolve(args.config ?? configFile ?? "ngb.config.json");
    const dotenvFile = resolve(".env");
    const { createClackPrompter, createFlagPrompter, SetupCancelled } = await import("../setup/prompter.ts");
    const interactive = !args.yes && Boolean(process.stdin.isTTY && process.stdout.isTTY);
    const ui = interactive ? await createClackPrompter() : createFlagPrompter();
    const clack = interactive ? await import("@clack/prompts") : null;
    clack?.intro("ngb setup");
    const plan: Plan = { settings: {}, secrets: {}, engineOk: false, imageOk: false, credentialsOk: false };
    if (args.image) plan.settings["container.image"] = args.image;
    try {
      plan.engineOk = await engineStep(config, ui);
      plan.imageOk = plan.engineOk ? await imageStep(config, args, ui) : false;
      plan.credentialsOk = await credentialsStep(config, args, ui, plan);
      await channelsStep(config, args, ui, plan);
    } catch (err) {
      if (err instanceof SetupCancelled) {
        clack?.cancel("Setup cancelled: nothing was saved.");
        process.exitCode = 130;
        return;
      }
      throw err;
    }

    // Everything at once, each file replaced atomically.
    const { saveSetup } = await import("../setup/write.ts");
    saveSetup({ configFile: target, settings: plan.settings, dotenvFile, secrets: plan.secrets });
    ui.ok(`saved ${target} and ${dotenvFile} (secrets, mode 0600)`);
    const { processEnv } = await import("../config/env.ts");
    for (const name of ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"])
      if (processEnv()[name] && plan.secrets[name] !== processEnv()[name])
        ui.warn(`${name} is set in this shell and overrides .env: unset it (or update it) before ngb serve`);

    await serviceStep(args, ui);
    const ready = plan.engineOk && plan.imageOk && plan.credentialsOk;
    if (!args["skip-message"] && ready) await firstMessage(args, target, ui);
    else if (!ready) ui.warn("skipped the first message: fix what is marked above, then `ngb doctor`");
    const next = [
      "ngb serve                 # start (dashboard URL and token are printed)",
      'ngb chat "hello"          # talk to it from another terminal',
      "ngb status / ngb doctor   # what works and what does not",
    ];
    if (clack) clack.outro(`Next:\n${next.join("\n")}`);
    else process.stderr.write(`next:\n  ${next.join("\n  ")}\n`);
  },
});

/** This ngb as a child process: the compiled binary, or bun with the entry script. */
function selfCommand(...args: string[]): string[] {
  const compiled = Bun.main.startsWith("/$bunfs") || Bun.main.includes("~BUN");
  return compiled ? [process.execPath, ...args] : [process.execPath, Bun.main, ...args];
}

/** `ngb service install`, only where that command exists in this build. */
async function serviceStep(args: SetupArgs, ui: Prompter): Promise<void> {
  // Asked of the CLI itself, so a build without `ngb service` simply does not offer it.
  const probe = Bun.spawnSync(selfCommand("service", "--help"), { stdout: "ignore", stderr: "ignore" });
  if (probe.exitCode !== 0) {
    if (args.service)
      ui.warn("this ngb has no `ngb service` command: start `ngb serve` yourself (or with your init system)");
    return;
  }
  const want = ui.interactive
    ? await ui.confirm({ message: "Install ngb as a background service (starts at boot)?", initial: false })
    : args.service === true;
  if (!want) return;
  const res = Bun.spawnSync(selfCommand("service", "install"), {
    stdout: "inherit",
    stderr: "inherit",
    stdin: "inherit",
  });
  if (res.exitCode === 0) ui.ok("service installed");
  else ui.warn("`ngb service install` failed (see above); run it again later");
}
