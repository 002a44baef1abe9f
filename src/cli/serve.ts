/** `ngb serve`: run everything until SIGINT/SIGTERM, then shut down cleanly. */
import { defineCommand } from "citty";
import { flushLog } from "../log/index.ts";
import { globalArgs, loadContext, UsageError } from "./common.ts";

export default defineCommand({
  meta: { name: "serve", description: "Run the orchestrator: channels, agents, scheduler, web" },
  args: {
    ...globalArgs,
    host: { type: "string", description: "Web bind address (default 127.0.0.1)" },
    port: { type: "string", description: "Web port (default 3000; 0 picks a free one)" },
    "allow-insecure-config": {
      type: "boolean",
      description: "Start even if the config file or .env is writable by others (loud warning)",
    },
  },
  async run({ args }) {
    const flags: Record<string, unknown> = {};
    if (args.host !== undefined) flags["web.host"] = args.host;
    if (args.port !== undefined) {
      const port = Number(args.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError(`ngb serve: --port must be a whole number from 0 to 65535 (got "${args.port}")`);
      flags["web.port"] = port;
    }
    const { config, log, configFile, envFile } = await loadContext(args, flags);
    const { allowInsecureConfigEnv, assertTrustedConfigFiles } = await import("../config/index.ts");
    assertTrustedConfigFiles([configFile, envFile], {
      allowInsecure: Boolean(args["allow-insecure-config"]) || allowInsecureConfigEnv(),
      log,
    });
    const { startRuntime } = await import("../runtime/index.ts");
    const runtime = await startRuntime({ config, log, configFile });
    await new Promise<void>((resolve) => {
      let stopping = false;
      const onSignal = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info("shutting down", { signal });
        runtime.stop().then(resolve, (err) => {
          log.error("shutdown failed", { error: (err as Error).message });
          resolve();
        });
      };
      process.once("SIGINT", () => onSignal("SIGINT"));
      process.once("SIGTERM", () => onSignal("SIGTERM"));
    });
    log.info("stopped");
    flushLog(log);
  },
});
