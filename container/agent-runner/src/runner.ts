/**
 * One agent session: starts the proxy forwarder, runs the Claude Agent SDK `query()` with a
 * streaming input (first prompt, then follow-ups from the input folder), exposes the `ngb` MCP
 * tools, and prints one ContainerOutput per SDK result. Returns the process exit code.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Options, Query, SDKMessage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import type { ContainerInput, ContainerOutput } from "../../../src/protocol/index.ts";
import { claudeEnv, type RunnerConfig, type RunnerPaths } from "./config.ts";
import { clearStaleClose, createFollowUpReader } from "./follow-ups.ts";
import type { OutputWriter, RunnerLog } from "./io.ts";
import { createNgbMcpServer, NGB_TOOL_PATTERN } from "./mcp-tools.ts";
import { type Forwarder, startForwarder } from "./proxy-forwarder.ts";
import { createSessionInput, type SessionInput } from "./session-input.ts";

export const ALLOWED_TOOLS = [
  "Bash",
  "Read",
  "Write",
  "Edit",
  "MultiEdit",
  "Glob",
  "Grep",
  "LS",
  "WebFetch",
  "WebSearch",
  "Task",
  "Agent",
  "TodoWrite",
  "TaskCreate",
  "TaskGet",
  "TaskList",
  "TaskUpdate",
  "TaskStop",
  "Skill",
  "NotebookEdit",
  NGB_TOOL_PATTERN,
];

/**
 * Built-in tools hidden from the model: the CLI's own scheduling and inter-agent messaging
 * would compete with (and be confused with) the ngb tools, and worktrees make no sense in a
 * throwaway container.
 */
export const DISALLOWED_TOOLS = [
  "CronCreate",
  "CronDelete",
  "CronList",
  "ScheduleWakeup",
  "RemoteTrigger",
  "SendMessage",
  "EnterWorktree",
  "ExitWorktree",
];

export const SCHEDULED_PREFIX =
  "[SCHEDULED TASK - this message was sent automatically by the scheduler, not by a person in the chat.]\n\n";

export type QueryFn = (params: {
  prompt: AsyncIterable<import("@anthropic-ai/claude-agent-sdk").SDKUserMessage>;
  options?: Options;
}) => Query | AsyncIterable<SDKMessage>;

export interface RunAgentDeps {
  config: RunnerConfig;
  input: ContainerInput;
  write: OutputWriter;
  log: RunnerLog;
  /** The SDK's query (injected so the loop can be tested without the CLI). */
  query?: QueryFn;
  /** Receives the session input once created (signal handlers end it). */
  onSession?: (session: SessionInput, abort: AbortController) => void;
}

/** The output record for one SDK result. */
export function resultToOutput(msg: SDKResultMessage): ContainerOutput {
  const usage = {
    inputTokens: msg.usage?.input_tokens ?? 0,
    outputTokens: msg.usage?.output_tokens ?? 0,
    cacheReadTokens: msg.usage?.cache_read_input_tokens ?? 0,
    cacheWriteTokens: msg.usage?.cache_creation_input_tokens ?? 0,
  };
  if (msg.subtype === "success" && !msg.is_error) {
    return { status: "success", result: msg.result ? msg.result : null, newSessionId: msg.session_id, usage };
  }
  const error =
    msg.subtype === "success"
      ? msg.result || "the model call failed"
      : [msg.subtype, ...(msg.errors ?? [])].filter(Boolean).join(": ");
  return { status: "error", result: null, newSessionId: msg.session_id, error, usage };
}

function readIfPresent(path: string): string | undefined {
  try {
    const text = readFileSync(path, "utf8").trim();
    return text || undefined;
  } catch {
    return undefined;
  }
}

/** Folders the agent may work in besides its own: the mounted extras, and the project for main. */
export function additionalDirectories(
  paths: Pick<RunnerPaths, "extra" | "project">,
  isMain: boolean,
): string[] {
  const dirs: string[] = [];
  if (isMain && existsSync(paths.project)) dirs.push(paths.project);
  try {
    for (const name of readdirSync(paths.extra)) {
      const p = join(paths.extra, name);
      if (statSync(p).isDirectory()) dirs.push(p);
    }
  } catch {
    // No extra mounts.
  }
  return dirs;
}

/**
 * Whether the transcript of `sessionId` exists under the CLI's config dir
 * (`projects/<cwd slug>/<id>.jsonl`). Resuming a missing one makes the CLI fail the whole run,
 * so a lost session starts fresh instead.
 */
export function sessionExists(claudeConfigDir: string, sessionId: string): boolean {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(sessionId)) return false;
  const projects = join(claudeConfigDir, "projects");
  try {
    return readdirSync(projects).some((dir) => existsSync(join(projects, dir, `${sessionId}.jsonl`)));
  } catch {
    return false;
  }
}

export async function runAgent(deps: RunAgentDeps): Promise<number> {
  const { config, input, write, log } = deps;
  const { paths } = config;
  const started = Date.now();
  for (const dir of [paths.ipcInput, paths.ipcMessages, paths.ipcTasks, paths.group])
    mkdirSync(dir, { recursive: true });
  mkdirSync(paths.claudeConfigDir, { recursive: true });

  let forwarder: Forwarder | undefined;
  let baseUrl = config.anthropicBaseUrl;
  if (!baseUrl) {
    if (!existsSync(paths.proxySocket)) {
      write({
        status: "error",
        result: null,
        error: `credential proxy socket missing at ${paths.proxySocket}`,
      });
      return 1;
    }
    forwarder = await startForwarder(paths.proxySocket, log);
    baseUrl = forwarder.url;
  }
  if (!config.proxyToken) log.warn("NGB_PROXY_TOKEN is not set; the proxy will refuse the requests");

  const session = createSessionInput({
    prompt: input.isScheduledTask ? SCHEDULED_PREFIX + input.prompt : input.prompt,
    idleTimeoutMs: input.idleTimeoutMs,
  });
  const abort = new AbortController();
  deps.onSession?.(session, abort);

  if (clearStaleClose(paths.ipcInput)) log.info("removed a stale _close from an earlier run");
  const reader = createFollowUpReader({
    dir: paths.ipcInput,
    log,
    rescanMs: config.rescanMs,
    accepting: () => session.endReason === undefined,
    onEvent: (event) => {
      if (event.type === "message") {
        log.info("follow-up received", { file: event.file, chars: event.text.length });
        session.push(event.text);
      } else {
        log.info("close requested");
        session.requestClose();
      }
    },
  });

  const globalMd = readIfPresent(paths.globalClaudeMd);
  const append = [
    `You are ${input.assistantName}, an assistant in a chat. Your final answer of each turn is sent to the chat; use the mcp__ngb__send_message tool only for messages you want delivered before that.`,
    globalMd,
  ]
    .filter(Boolean)
    .join("\n\n");

  let resume = input.sessionId;
  if (resume && !sessionExists(paths.claudeConfigDir, resume)) {
    log.warn("session not found, starting a new one", { sessionId: resume });
    resume = undefined;
  }

  const options: Options = {
    cwd: paths.group,
    resume,
    model: input.model,
    env: claudeEnv(config, baseUrl, config.proxyToken ?? "ngb-no-token"),
    permissionMode: "dontAsk",
    allowedTools: ALLOWED_TOOLS,
    disallowedTools: DISALLOWED_TOOLS,
    mcpServers: { ngb: createNgbMcpServer({ input, paths, log }) },
    systemPrompt: { type: "preset", preset: "claude_code", append },
    settingSources: ["project", "user"],
    additionalDirectories: additionalDirectories(paths, input.isMain),
    abortController: abort,
    stderr: (data) => {
      for (const line of data.split("\n")) if (line.trim()) log.info(`claude: ${line}`);
    },
  };
  if (config.claudeExecutable) options.pathToClaudeCodeExecutable = config.claudeExecutable;

  const queryFn: QueryFn = deps.query ?? (await import("@anthropic-ai/claude-agent-sdk")).query;
  let results = 0;
  let lastStatus: ContainerOutput["status"] | undefined;
  let exitCode = 0;
  try {
    for await (const msg of queryFn({ prompt: session.messages, options })) {
      if (msg.type === "system" && msg.subtype === "init" && results === 0) {
        log.info("session started", {
          sessionId: msg.session_id,
          model: msg.model,
          startupMs: Date.now() - started,
        });
      } else if (msg.type === "result") {
        results++;
        const out = resultToOutput(msg);
        write(out);
        lastStatus = out.status;
        log.info("result", { n: results, status: out.status, ms: msg.duration_ms, turns: msg.num_turns });
        session.turnDone(msg.queued_turn_count);
      }
    }
    if (results === 0 && !abort.signal.aborted) {
      write({ status: "error", result: null, error: "the agent ended without a result" });
      exitCode = 1;
    }
  } catch (err) {
    const message = (err as Error).message || String(err);
    if (abort.signal.aborted) {
      log.warn("aborted", { error: message });
    } else {
      log.error("agent failed", { error: message });
      // The CLI's own error result was already printed; do not report the same failure twice.
      if (lastStatus !== "error") write({ status: "error", result: null, error: message });
      exitCode = 1;
    }
  } finally {
    session.end();
    reader.stop();
    await forwarder?.stop();
  }
  log.info("session ended", { reason: session.endReason, results, ms: Date.now() - started });
  return exitCode;
}
