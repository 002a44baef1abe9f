/** `ngb upgrade [--check] [--version X] [--rollback]`: replace the installed binary from the release page. */
import { defineCommand } from "citty";
import { globalArgs, jsonArg, loadContext, UsageError } from "./common.ts";

export default defineCommand({
  meta: {
    name: "upgrade",
    description: "Upgrade ngb in place from the release page (--check, --version, --rollback)",
  },
  args: {
    ...globalArgs,
    ...jsonArg,
    check: { type: "boolean", description: "Only say whether a newer release exists (exit 10 if so)" },
    version: { type: "string", description: "Install this version (up or down) instead of the newest" },
    rollback: {
      type: "boolean",
      description: "Go back to the binary the last upgrade replaced (ngb.previous)",
    },
    "release-url": { type: "string", description: "Release page (default releaseUrl / NGB_RELEASE_URL)" },
    "no-restart": { type: "boolean", description: "Do not restart the installed service afterwards" },
  },
  async run({ args }) {
    if (args.rollback && (args.check || args.version))
      throw new UsageError("ngb upgrade: --rollback cannot be combined with --check or --version");
    if (args.version !== undefined && !/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(args.version))
      throw new UsageError(`ngb upgrade: --version must look like 1.2.3 (got "${args.version}")`);
    const { config } = await loadContext(
      args,
      args["release-url"] ? { releaseUrl: args["release-url"] } : {},
    );
    const { currentPlatform } = await import("../release/index.ts");
    const up = await import("../upgrade/index.ts");
    const { VERSION } = await import("../version.ts");
    if (!Bun.main.startsWith("/$bunfs/"))
      throw new UsageError(
        "ngb upgrade replaces the installed binary, but this ngb runs from source (bun src/main.ts); update the checkout instead",
      );
    const deps = {
      fetch,
      releaseUrl: config.releaseUrl,
      execPath: process.execPath,
      platform: currentPlatform(),
      currentVersion: VERSION,
      probeVersion: async (path: string) => {
        try {
          const p = Bun.spawnSync([path, "--version"], { stdout: "pipe", stderr: "ignore", timeout: 30_000 });
          return p.exitCode === 0 ? p.stdout.toString().split("\n")[0]?.trim() : undefined;
        } catch {
          return undefined;
        }
      },
    };
    const out = (human: string, json: object) =>
      process.stdout.write(args.json ? `${JSON.stringify(json)}\n` : `${human}\n`);

    if (args.check) {
      const r = await up.findRelease(deps, args.version);
      const { compareVersions } = await import("../release/index.ts");
      const newer = compareVersions(r.version, VERSION) > 0;
      out(
        newer
          ? `ngb ${r.version} is available (this is ${VERSION}); run \`ngb upgrade\``
          : `ngb ${VERSION} is up to date`,
        { current: VERSION, latest: r.version, newer, archive: r.archive },
      );
      if (newer) process.exitCode = 10;
      return;
    }
    let changed = true;
    if (args.rollback) {
      const r = await up.rollback(deps);
      out(`rolled back ${process.execPath} to ${r.to}`, { rolledBack: true, to: r.to });
    } else {
      const r = await up.upgrade(deps, args.version ? { version: args.version } : {});
      changed = r.changed;
      out(
        r.changed
          ? `upgraded ${process.execPath} from ${r.from} to ${r.to} (the old one is kept: ngb upgrade --rollback)`
          : `ngb ${r.from} is up to date (newest release: ${r.to})`,
        r,
      );
    }
    if (!changed || args["no-restart"]) return;
    const svc = await import("../service/index.ts");
    const sdeps = svc.hostServiceDeps();
    if (svc.isServiceInstalled(sdeps)) {
      await svc.restartService(sdeps);
      if (!args.json) process.stdout.write("restarted the ngb service\n");
    }
  },
});
