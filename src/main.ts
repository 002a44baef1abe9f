#!/usr/bin/env bun
/**
 * `ngb` entry point. The root lists every subcommand from a static table and imports a
 * subcommand's module only when it runs, so `ngb --help` and `ngb --version` load nothing heavy.
 */
import { type CommandDef, renderUsage, runCommand } from "citty";
import { checkArgs, printError } from "./cli/common.ts";
import { VERSION_STRING } from "./version.ts";

// biome-ignore lint/suspicious/noExplicitAny: command modules have heterogeneous arg types
type Loader = () => Promise<{ default: CommandDef<any> }>;

/** Every subcommand: name, one-line description, lazy module. Later features add rows here. */
export const COMMANDS: Record<string, { description: string; load: Loader }> = {
  setup: {
    description: "Guided first run: engine, agent image, Anthropic key, channels, first reply",
    load: () => import("./cli/setup.ts"),
  },
  serve: {
    description: "Run the orchestrator: channels, agents, scheduler, web",
    load: () => import("./cli/serve.ts"),
  },
  status: {
    description: "Show the running serve's state: readiness, channels, agents, errors",
    load: () => import("./cli/status.ts"),
  },
  chat: {
    description: "Send a message to the running serve's webchat and print the reply",
    load: () => import("./cli/chat.ts"),
  },
  run: {
    description: "Run one prompt in a group's container directly (no serve needed)",
    load: () => import("./cli/run.ts"),
  },
  send: {
    description: "Send a message to any chat through the running serve",
    load: () => import("./cli/send.ts"),
  },
  session: { description: "Show or reset a group's Claude session", load: () => import("./cli/session.ts") },
  logs: {
    description: "Print a group's agent container logs (-f to follow)",
    load: () => import("./cli/logs.ts"),
  },
  shell: {
    description: "Open a shell in the agent image with a group's mounts",
    load: () => import("./cli/shell.ts"),
  },
  groups: { description: "List, register and remove groups", load: () => import("./cli/groups.ts") },
  tasks: {
    description: "List, add, pause, resume and cancel scheduled tasks",
    load: () => import("./cli/tasks.ts"),
  },
  doctor: {
    description: "Check the setup and say how to fix what is wrong",
    load: () => import("./cli/doctor.ts"),
  },
  config: {
    description: "Show the effective config or its JSON Schema",
    load: () => import("./cli/config.ts"),
  },
  plugins: {
    description: "List, enable, disable, reload, create and test plugins",
    load: () => import("./cli/plugins.ts"),
  },
  version: { description: "Print the version and git commit", load: () => import("./cli/version.ts") },
  image: { description: "Build or inspect the agent container image", load: () => import("./cli/image.ts") },
  service: {
    description: "Install, remove and manage ngb as a systemd or launchd service",
    load: () => import("./cli/service.ts"),
  },
  upgrade: {
    description: "Upgrade ngb in place from the release page (--check, --version, --rollback)",
    load: () => import("./cli/upgrade.ts"),
  },
  backup: {
    description: "Back up, verify and restore the store, groups, sessions and config",
    load: () => import("./cli/backup.ts"),
  },
};

function rootUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const rows = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.description}`);
  return [
    `NanoGridBot ${VERSION_STRING}: chat platforms to Claude agents, each in its own container.`,
    "",
    "USAGE  ngb <command> [options]",
    "",
    "COMMANDS",
    ...rows,
    "",
    "Global options: --config <file>, --log-level <level>, --log-format pretty|json, --json",
    "Run `ngb <command> --help` for a command's options.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${rootUsage()}\n`);
    return name || argv.length > 0 ? 0 : 1;
  }
  if (name === "--version" || name === "-v") {
    process.stdout.write(`ngb ${VERSION_STRING}\n`);
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    process.stderr.write(`${rootUsage()}\n\nerror: unknown command "${name}"\n`);
    return 1;
  }
  const cmd = (await entry.load()).default;
  if (rest.includes("--help") || rest.includes("-h")) {
    const leaf = await resolveLeaf(cmd, rest);
    // citty prints "<parent name> <command name>": the parent is "ngb" or "ngb <command>".
    const parent = { meta: { name: leaf === cmd ? "ngb" : `ngb ${name}` } };
    process.stdout.write(`${await renderUsage(leaf, parent)}\n`);
    return 0;
  }
  try {
    await checkArgs(cmd, rest, `ngb ${name}`);
    await runCommand(cmd, { rawArgs: rest });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    return printError(err, cmd, rest);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: see Loader
async function resolveLeaf(cmd: CommandDef<any>, args: string[]): Promise<CommandDef<any>> {
  const subs = typeof cmd.subCommands === "function" ? await cmd.subCommands() : await cmd.subCommands;
  const first = args.find((a) => !a.startsWith("-"));
  if (!subs || !first || !subs[first]) return cmd;
  const sub = subs[first]!;
  const resolved = typeof sub === "function" ? await sub() : await sub;
  return resolveLeaf(resolved, args.slice(args.indexOf(first) + 1));
}

if (import.meta.main) {
  // Commands return when done (serve returns after a clean shutdown); exit with their code.
  process.exit(await main(process.argv.slice(2)));
}
