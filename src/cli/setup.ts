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
import { globalArgs, loadContext, UsageError } from "./common.ts";
import type { Prompter } from "../setup/prompter.ts";
import {
  channelsStep,
  credentialsStep,
  engineStep,
  imageStep,
  type Plan,
  preflight,
  type SetupArgs,
} from "../setup/steps.ts";

const DEFAULT_MESSAGE = "Hello! Who are you? Answer in one sentence.";

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
