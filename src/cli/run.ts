/**
 * `ngb run <group> "prompt"`: one prompt in the group's container; results print here and
 * nothing is sent to the chat. By default the run gets a fresh session so the group's
 * conversation is untouched; --resume continues the group's session and saves the new one.
 * When `ngb serve` runs on the same data dir, the prompt goes through it (`POST /api/run`,
 * queued behind the group's current agent); otherwise this process runs the runtime's agent
 * core without channels (src/runtime/run-prompt.ts: same snapshots, sessions and output), and
 * tool requests the agent writes (e.g. send_message) are carried out by serve when it next runs.
 */
import { mkdirSync } from "node:fs";
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
    try {
      const group = store.groups.byFolder(args.group) ?? store.groups.get(args.group);
      if (!group)
        throw new UsageError(
          `no registered group "${args.group}" (give its folder or jid; see \`ngb groups list\`)`,
        );
      const { runPrompt } = await import("../runtime/run-prompt.ts");
      const interrupt = new AbortController();
      const onSignal = () => interrupt.abort();
      process.once("SIGINT", onSignal);
      try {
        const outcome = await runPrompt({
          config,
          store,
          log,
          group,
          prompt: args.prompt,
          resume: args.resume,
          timeoutMs: timeoutSec ? timeoutSec * 1000 : undefined,
          signal: interrupt.signal,
        });
        printOutcome({ group: group.folder, ...outcome }, args.json === true, group.folder);
      } finally {
        process.off("SIGINT", onSignal);
      }
    } finally {
      store.close();
      release();
    }
  },
});

/** The same output whether serve ran the prompt or this process did. */
function printOutcome(
  out: { group: string; status: string; results: string[]; error?: string },
  json: boolean,
  folder: string,
): void {
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else for (const text of out.results) process.stdout.write(`${text}\n`);
  // Unusable credentials: the proxy's sentence (with the fix) is the whole message.
  const sentence = out.status !== "success" ? findAuthFailureSentence(out.error ?? "") : null;
  if (sentence) throw new UserError(sentence);
  if (out.status !== "success") throw new UserError(`the agent failed: ${out.error ?? "no detail"}`);
  if (out.results.length === 0)
    throw new UserError(`the agent produced no result; see \`ngb logs ${folder}\``);
}

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
  const out = (await res.json()) as { group: string; status: string; results: string[]; error?: string };
  printOutcome(out, args.json === true, args.group);
}
