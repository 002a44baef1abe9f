/**
 * `ngb run <group> "prompt"`: one prompt straight into the group's container, through the
 * credential proxy, WITHOUT `ngb serve` (nothing is sent to the chat; results print here). By
 * default the run gets a fresh session so the group's conversation is untouched; --resume
 * continues the group's session and saves the new one. Tool requests the agent writes (e.g.
 * send_message) are carried out by `ngb serve` when it next runs. It refuses to run while
 * `ngb serve` uses the same data dir (both would drive the group's IPC input directory): use
 * `ngb chat` against the running serve instead.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { UserError } from "../util/errors.ts";
import { globalArgs, jsonArg, loadContext, UsageError } from "./common.ts";

export default defineCommand({
  meta: {
    name: "run",
    description:
      "Run one prompt in a group's container directly, without serve (prints the results; refuses while serve runs)",
  },
  args: {
    ...globalArgs,
    ...jsonArg,
    group: { type: "positional", description: "Group folder (or jid)", required: true },
    prompt: { type: "positional", description: "The prompt", required: true },
    resume: { type: "boolean", description: "Continue the group's session (and save the new one)" },
    timeout: {
      type: "string",
      description: "Seconds before the run is stopped (default: container.timeoutMs)",
    },
  },
  async run({ args }) {
    if (!args.prompt.trim()) throw new UsageError("ngb run: the prompt is empty");
    const timeoutSec = args.timeout === undefined ? undefined : Number(args.timeout);
    if (timeoutSec !== undefined && (!Number.isFinite(timeoutSec) || timeoutSec <= 0))
      throw new UsageError(`ngb run: --timeout must be a positive number of seconds (got "${args.timeout}")`);
    const { config, log } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
    const { acquirePidLock } = await import("../runtime/pid-lock.ts");
    mkdirSync(config.dataDir, { recursive: true });
    let release: () => void;
    try {
      release = acquirePidLock(config.dataDir);
    } catch (err) {
      if (!/another ngb serve/.test((err as Error).message)) throw err;
      throw new UserError(
        `${(err as Error).message.replace(/; stop it first$/, "")}: \`ngb run\` cannot share a data dir with a running serve; use \`ngb chat\` (web groups) or stop serve first`,
      );
    }
    const { openStore, storeFile } = await import("../store/index.ts");
    const store = openStore(storeFile(config));
    const stops: (() => unknown)[] = [() => store.close(), release];
    try {
      const group = store.groups.byFolder(args.group) ?? store.groups.get(args.group);
      if (!group)
        throw new UsageError(
          `no registered group "${args.group}" (give its folder or jid; see \`ngb groups list\`)`,
        );
      const { createCredentialProxy } = await import("../proxy/index.ts");
      const { createDockerRunner } = await import("../container/index.ts");
      const { writeSnapshots, ensureGroupFolder } = await import("../orchestrator/index.ts");
      const { instanceIdOf } = await import("../runtime/instance.ts");
      const proxy = createCredentialProxy({
        config,
        store,
        log,
        socketPath: join(config.dataDir, "proxy-run", String(process.pid), "proxy.sock"),
      });
      stops.unshift(() => proxy.stop());
      const runner = createDockerRunner({
        config,
        log,
        paths: { groupsDir: config.groupsDir, dataDir: config.dataDir, projectRoot: process.cwd() },
        proxy,
        instanceId: instanceIdOf(config),
      });
      ensureGroupFolder(config.groupsDir, group);
      writeSnapshots(store, config.dataDir, group);
      const sessionId = args.resume ? (store.groups.session(group.folder) ?? undefined) : undefined;
      let outputs = 0;
      let failed: string | null = null;
      let proc: Awaited<ReturnType<typeof runner.start>> | null = null;
      let finished = false;
      proc = await runner.start({
        group,
        input: {
          prompt: args.prompt,
          sessionId,
          groupFolder: group.folder,
          chatJid: group.jid,
          isMain: group.isMain,
          assistantName: config.assistantName,
          model: config.anthropic.model,
          idleTimeoutMs: config.container.idleTimeoutMs,
        },
        async onOutput(out) {
          outputs++;
          if (args.json) process.stdout.write(`${JSON.stringify(out)}\n`);
          else if (out.result) process.stdout.write(`${out.result}\n`);
          if (out.status === "error") failed = out.error ?? "the agent reported an error";
          if (args.resume && out.newSessionId) store.groups.setSession(group.folder, out.newSessionId);
          // One prompt, one turn: let the container go.
          finished = true;
          proc?.close();
        },
      });
      if (finished) proc.close();
      const onSignal = () => void proc?.kill("interrupted");
      process.once("SIGINT", onSignal);
      const timer = timeoutSec
        ? setTimeout(() => void proc?.kill("--timeout reached"), timeoutSec * 1000)
        : undefined;
      const res = await proc.done;
      clearTimeout(timer);
      process.off("SIGINT", onSignal);
      if (args.resume && res.newSessionId) store.groups.setSession(group.folder, res.newSessionId);
      if (failed) throw new UserError(`the agent failed: ${failed}`);
      if (outputs === 0)
        throw new UserError(
          `the agent produced no result (${res.status}: ${res.error ?? "no detail"}); see \`ngb logs ${group.folder}\``,
        );
    } finally {
      for (const stop of stops) await stop();
    }
  },
});
