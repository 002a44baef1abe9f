/**
 * `ngb run <group> "prompt"`: one prompt in the group's container; results print here and
 * nothing is sent to the chat. By default the run gets a fresh session so the group's
 * conversation is untouched; --resume continues the group's session and saves the new one.
 * When `ngb serve` runs on the same data dir, the prompt goes through it (`POST /api/run`,
 * queued behind the group's current agent); otherwise the container is started directly,
 * through a credential proxy of its own, and tool requests the agent writes (e.g.
 * send_message) are carried out by `ngb serve` when it next runs.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { findAuthFailureSentence } from "../proxy/index.ts";
import { UserError } from "../util/errors.ts";
import { globalArgs, jsonArg, loadContext, UsageError } from "./common.ts";

export default defineCommand({
  meta: {
    name: "run",
    description: "Run one prompt in a group's container and print the results (through serve when it runs)",
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
      // serve owns the group's IPC input directory: hand the prompt to it.
      return runViaServe(config, { ...args, timeoutSec });
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
      const { createProgress, formatTokens } = await import("./progress.ts");
      const progress = createProgress();
      const used = { input: 0, output: 0 };
      let authFailure: string | null = null;
      const proxy = createCredentialProxy({
        config,
        store,
        log,
        socketPath: join(config.dataDir, "proxy-run", String(process.pid), "proxy.sock"),
        // Progress: tokens as each model response completes.
        onUsage: (_g, u) => {
          used.input += u.inputTokens;
          used.output += u.outputTokens;
          progress.status(
            `agent working · ${formatTokens(used.input)} in / ${formatTokens(used.output)} out`,
          );
        },
        // Unusable credentials: stop at once with the proxy's sentence instead of waiting out retries.
        onAuthFailure: (_g, f) => {
          authFailure = f.sentence;
          void proc?.kill("credentials rejected");
        },
      });
      stops.unshift(() => progress.clear());
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
      progress.status(`starting the agent's container (${config.container.image})`);
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
          progress.clear();
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
      else progress.status("agent working");
      const onSignal = () => void proc?.kill("interrupted");
      process.once("SIGINT", onSignal);
      const timer = timeoutSec
        ? setTimeout(() => void proc?.kill("--timeout reached"), timeoutSec * 1000)
        : undefined;
      const res = await proc.done;
      clearTimeout(timer);
      process.off("SIGINT", onSignal);
      if (args.resume && res.newSessionId) store.groups.setSession(group.folder, res.newSessionId);
      progress.clear();
      if (used.input + used.output > 0 && progress.enabled)
        process.stderr.write(`tokens: ${formatTokens(used.input)} in / ${formatTokens(used.output)} out\n`);
      if (authFailure) throw new UserError(authFailure);
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

async function runViaServe(
  config: Parameters<typeof import("./serve-client.ts").serveTarget>[0],
  args: { group: string; prompt: string; resume?: boolean; json?: boolean; timeoutSec?: number },
): Promise<void> {
  const { serveTarget, serveFetch, errorText } = await import("./serve-client.ts");
  const target = await serveTarget(config);
  const { activityWatcher } = await import("./chat-client.ts");
  const { createProgress } = await import("./progress.ts");
  const progress = createProgress();
  const abort = new AbortController();
  let authFailure: string | null = null;
  progress.status("queued in ngb serve");
  const watcher = activityWatcher(target, (p) => p.groupFolder === args.group || p.chatJid === args.group, {
    status: (t) => progress.status(t),
    failed: (sentence) => {
      authFailure = sentence;
      abort.abort();
    },
  });
  const waitMs = args.timeoutSec ? args.timeoutSec * 1000 : config.container.timeoutMs + 60_000;
  let res: Response;
  try {
    res = await serveFetch(target, "/api/run", {
      method: "POST",
      body: JSON.stringify({ group: args.group, prompt: args.prompt, resume: args.resume === true }),
      signal: AbortSignal.any([AbortSignal.timeout(waitMs), abort.signal]),
    });
  } catch (err) {
    if (authFailure) throw new UserError(authFailure);
    if ((err as Error).name === "TimeoutError")
      throw new UserError(
        `no answer from serve within ${Math.round(waitMs / 1000)} s; see \`ngb logs ${args.group}\``,
      );
    throw err;
  } finally {
    watcher.stop();
    progress.clear();
  }
  if (res.status === 404) throw new UsageError(`${await errorText(res)} (see \`ngb groups list\`)`);
  if (!res.ok) throw new UserError(`serve refused the run: ${await errorText(res)}`);
  const out = (await res.json()) as { status: string; results: string[]; error?: string };
  if (args.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else for (const text of out.results) process.stdout.write(`${text}\n`);
  const sentence = out.status !== "success" ? findAuthFailureSentence(out.error ?? "") : null;
  if (sentence) throw new UserError(sentence);
  if (out.status !== "success") throw new UserError(`the agent failed: ${out.error ?? "no detail"}`);
  if (out.results.length === 0) throw new UserError("the agent produced no result");
}
