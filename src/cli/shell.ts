/**
 * `ngb shell <group>`: an interactive shell in the agent image with exactly the group's mounts
 * (folder, global memory, session dir, IPC dir, allowlisted extra mounts; the project read-only
 * for main), for looking around. No credential proxy token: model calls from the shell are refused.
 */
import { defineCommand } from "citty";
import { UserError } from "../util/errors.ts";
import { globalArgs, loadContext, UsageError } from "./common.ts";

export default defineCommand({
  meta: { name: "shell", description: "Open a shell in the agent image with a group's mounts" },
  args: {
    ...globalArgs,
    group: { type: "positional", description: "Group folder (or jid)", required: true },
    print: { type: "boolean", description: "Print the docker command instead of running it" },
  },
  async run({ args }) {
    const { config, log } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
    const { openStore, storeFile } = await import("../store/index.ts");
    const store = openStore(storeFile(config), { readonly: false });
    let group: ReturnType<typeof store.groups.get>;
    try {
      group = store.groups.byFolder(args.group) ?? store.groups.get(args.group);
    } finally {
      store.close();
    }
    if (!group)
      throw new UsageError(
        `no registered group "${args.group}" (give its folder or jid; see \`ngb groups list\`)`,
      );
    const { buildRunArgs, hostDirs, prepareHostDirs, resolveExtraMounts } = await import(
      "../container/index.ts"
    );
    const { ngbPrivatePaths } = await import("../mounts/index.ts");
    const { instanceIdOf } = await import("../runtime/instance.ts");
    const dirs = hostDirs({ groupsDir: config.groupsDir, dataDir: config.dataDir }, group.folder);
    prepareHostDirs(dirs, config.container);
    const runArgs = buildRunArgs({
      name: `ngb-${group.folder}-shell-${process.pid}`,
      group,
      container: config.container,
      dirs,
      instanceId: instanceIdOf(config),
      proxyToken: false,
      // The same allowlisted extra mounts the agent gets (a refused one is named in a warning).
      extraMounts: resolveExtraMounts(
        group,
        config.container.mountAllowlistPath,
        log,
        ngbPrivatePaths(config, { cwd: process.cwd() }),
      ),
    });
    const tty = process.stdin.isTTY === true;
    const image = runArgs.pop()!;
    const i = runArgs.indexOf("-i");
    if (i >= 0 && tty) runArgs[i] = "-it";
    runArgs.push("--workdir", "/workspace/group", "--entrypoint", "sh", image);
    const cmd = [config.container.runtime, ...runArgs];
    if (args.print) {
      process.stdout.write(`${cmd.map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a)).join(" ")}\n`);
      return;
    }
    let proc: ReturnType<typeof Bun.spawn>;
    try {
      proc = Bun.spawn(cmd, { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
    } catch (err) {
      throw new UserError(
        `cannot run ${config.container.runtime}: ${(err as Error).message} (see \`ngb doctor\`)`,
      );
    }
    process.exitCode = await proc.exited;
  },
});
