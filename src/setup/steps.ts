/**
 * The steps of `ngb setup`, each asking through a `Prompter` (interactive or from flags) and
 * adding to the `Plan`; nothing here writes a file (see write.ts, called once at the end).
 */
import type { Config } from "../config/index.ts";
import { UserError } from "../util/errors.ts";
import type { Prompter } from "./prompter.ts";

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
export async function preflight(args: SetupArgs): Promise<void> {
  const { credentialShapeProblem } = await import("../health/index.ts");
  if (args["api-key"] !== undefined && args["oauth-token"] !== undefined)
    throw new UserError("ngb setup: give --api-key or --oauth-token, not both");
  for (const [flag, kind] of [
    ["api-key", "apiKey"],
    ["oauth-token", "authToken"],
  ] as const) {
    const value = args[flag];
    const problem = value === undefined ? null : credentialShapeProblem(value, kind);
    if (problem) throw new UserError(`--${flag}: ${problem}`);
  }
  const { SETUP_CHANNELS, fieldProblem } = await import("./channels.ts");
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
    throw new UserError(
      "ngb setup: Slack needs both --slack-bot-token (xoxb-…) and --slack-app-token (xapp-…)",
    );
}

/** What the steps gathered; nothing is written until the end. */
export interface Plan {
  settings: Record<string, unknown>;
  secrets: Record<string, string | undefined>;
  engineOk: boolean;
  imageOk: boolean;
  credentialsOk: boolean;
}

export async function engineStep(config: Config, ui: Prompter): Promise<boolean> {
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

export async function imageStep(config: Config, args: SetupArgs, ui: Prompter): Promise<boolean> {
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

export async function credentialsStep(
  config: Config,
  args: SetupArgs,
  ui: Prompter,
  plan: Plan,
): Promise<boolean> {
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

export async function channelsStep(config: Config, args: SetupArgs, ui: Prompter, plan: Plan): Promise<void> {
  const { SETUP_CHANNELS, fieldProblem, secretEnvName, verifyChannel } = await import("./channels.ts");
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
