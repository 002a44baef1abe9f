/** `ngb service install | uninstall | status | restart | logs`: ngb as a systemd unit or launchd agent. */
import { defineCommand } from "citty";
import { jsonArg } from "./common.ts";

const scopeArgs = {
  user: {
    type: "boolean",
    description: "A user service even as root (default: system-wide as root, user otherwise)",
  },
  "data-dir": {
    type: "string",
    description: "Working directory of the service (default: its own state directory)",
  },
} as const;

async function deps() {
  const { hostServiceDeps } = await import("../service/index.ts");
  return hostServiceDeps();
}

const opts = (args: { user?: boolean; "data-dir"?: string }) => ({
  user: Boolean(args.user),
  ...(args["data-dir"] ? { dataDir: args["data-dir"] } : {}),
});

const install = defineCommand({
  meta: { name: "install", description: "Write the service definition, enable and start it" },
  args: { ...scopeArgs, ...jsonArg },
  async run({ args }) {
    const { installService } = await import("../service/index.ts");
    const r = await installService(await deps(), opts(args));
    if (args.json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
    process.stdout.write(
      `installed and started the ${r.scope} service: ${r.definition}\n  data directory: ${r.dataDir}\n  secrets: ${r.envFile} (mode 0600; put ANTHROPIC_API_KEY=… there, then \`ngb service restart\`)\n`,
    );
  },
});

const uninstall = defineCommand({
  meta: {
    name: "uninstall",
    description: "Stop and remove the service (the data directory and secrets stay)",
  },
  args: { ...scopeArgs },
  async run({ args }) {
    const { uninstallService } = await import("../service/index.ts");
    const file = await uninstallService(await deps(), opts(args));
    process.stdout.write(`removed ${file}; data and the env file were kept\n`);
  },
});

const status = defineCommand({
  meta: { name: "status", description: "Is the service installed, enabled and running?" },
  args: { ...scopeArgs, ...jsonArg },
  async run({ args }) {
    const { serviceStatus } = await import("../service/index.ts");
    const s = await serviceStatus(await deps(), opts(args));
    if (args.json) return void process.stdout.write(`${JSON.stringify(s)}\n`);
    if (!s.installed) {
      process.stdout.write(`not installed (${s.definition}); run \`ngb service install\`\n`);
      process.exitCode = 3;
      return;
    }
    process.stdout.write(
      `${s.scope} service ${s.definition}: ${s.active ?? "?"}${s.sub ? ` (${s.sub})` : ""}${s.pid ? `, pid ${s.pid}` : ""}${s.enabled ? `, ${s.enabled}` : ""}\n`,
    );
    if (s.active !== "active" && s.active !== "running") process.exitCode = 3;
  },
});

const restart = defineCommand({
  meta: { name: "restart", description: "Restart the service (after editing its env file or upgrading)" },
  args: { ...scopeArgs },
  async run({ args }) {
    const { restartService } = await import("../service/index.ts");
    await restartService(await deps(), opts(args));
    process.stdout.write("restarted\n");
  },
});

const logs = defineCommand({
  meta: { name: "logs", description: "Print the service's logs (journalctl; -f to follow)" },
  args: {
    ...scopeArgs,
    follow: { type: "boolean", alias: "f", description: "Keep printing new lines" },
    lines: { type: "string", alias: "n", description: "How many recent lines (default 200)" },
  },
  async run({ args }) {
    const { serviceLogs } = await import("../service/index.ts");
    const { UsageError } = await import("./common.ts");
    const lines = args.lines === undefined ? 200 : Number(args.lines);
    if (!Number.isInteger(lines) || lines < 1)
      throw new UsageError(`ngb service logs: --lines must be a positive whole number`);
    process.exitCode = await serviceLogs(await deps(), {
      ...opts(args),
      lines,
      follow: Boolean(args.follow),
    });
  },
});

export default defineCommand({
  meta: { name: "service", description: "Install, remove and manage ngb as a systemd or launchd service" },
  subCommands: { install, uninstall, status, restart, logs },
});
