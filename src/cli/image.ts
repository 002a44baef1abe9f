/** `ngb image build|status`: the agent container image. */
import { defineCommand } from "citty";
import { globalArgs, jsonArg, loadContext, printTable } from "./common.ts";

const shared = {
  ...globalArgs,
  ...jsonArg,
  image: { type: "string", description: "Image tag (default: container.image from the config)" },
  context: { type: "string", description: "The container/ folder (default: the one beside the sources)" },
} as const;

const build = defineCommand({
  meta: { name: "build", description: "Build the agent image (skips steps that are up to date)" },
  args: {
    ...shared,
    base: { type: "string", description: "Base image with Bun (default oven/bun:1-slim)" },
    offline: {
      type: "boolean",
      description: "Import the base from this machine's files instead of pulling one (no registry needed)",
    },
    force: { type: "boolean", description: "Rebuild every step" },
    bun: { type: "string", description: "Bun binary for the offline base" },
  },
  async run({ args }) {
    const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
    const { buildAgentImage } = await import("../image/index.ts");
    const { createProgress } = await import("./progress.ts");
    const progress = createProgress();
    const result = await buildAgentImage({
      dataDir: config.dataDir,
      onProgress: (line) => progress.status(line),
      log: (line) => (progress.enabled ? progress.note(line) : process.stderr.write(`${line}\n`)),
      runtime: config.container.runtime,
      image: args.image ?? config.container.image,
      base: args.base,
      offline: args.offline,
      force: args.force,
      contextDir: args.context,
      bunBinary: args.bun,
    }).finally(() => progress.clear());
    if (args.json) return void process.stdout.write(`${JSON.stringify(result)}\n`);
    const steps = result.steps.map(
      (s) => `${s.step} ${s.skipped ? "(cached) " : ""}${(s.ms / 1000).toFixed(1)} s`,
    );
    process.stdout.write(
      `${result.image} ready from ${result.base} in ${(result.totalMs / 1000).toFixed(1)} s: ${steps.join(", ")}\n`,
    );
  },
});

const status = defineCommand({
  meta: { name: "status", description: "Show whether the agent image exists and is up to date" },
  args: shared,
  async run({ args }) {
    const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
    const { agentImageStatus } = await import("../image/index.ts");
    const s = await agentImageStatus({
      runtime: config.container.runtime,
      image: args.image ?? config.container.image,
      contextDir: args.context,
      dataDir: config.dataDir,
    });
    if (args.json) return void process.stdout.write(`${JSON.stringify(s)}\n`);
    printTable([
      {
        image: s.image,
        exists: s.exists ? "yes" : "no (run: ngb image build)",
        id: s.id,
        created: s.created,
        size_mb: s.sizeMb,
        up_to_date: s.upToDate === undefined ? "?" : s.upToDate ? "yes" : "no (run: ngb image build)",
      },
    ]);
    if (!s.exists) process.exitCode = 1;
  },
});

export default defineCommand({
  meta: { name: "image", description: "Build or inspect the agent container image" },
  subCommands: { build, status },
});
