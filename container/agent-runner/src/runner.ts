/**
 * One agent session: starts the proxy forwarder, runs the Claude Agent SDK `query()` with a
 * streaming input (the start prompt, then the host's `input` frames, one turn at a time),
 * exposes the `ngb` MCP tools (requests to the host over stdio), and prints one `result` frame
 * per SDK result naming the inputs that turn consumed, plus throttled `activity` frames.
 * Returns the process exit code.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Options, Query, SDKMessage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import type { ContainerInput, ProxyStreamFrame, ResultFrame } from "../../../src/protocol/index.ts";
import { createActivityReporter } from "./activity.ts";
import { claudeEnv, type RunnerConfig, type RunnerPaths } from "./config.ts";
import { shareWithGroup } from "./group-share.ts";
import { type FrameLine, pumpFrames } from "./host-frames.ts";
import { createHostLink } from "./host-link.ts";
import { errorResult, type FrameWriter, type RunnerLog } from "./io.ts";
import { createNgbMcpServer, NGB_TOOL_PATTERN } from "./mcp-tools.ts";
import { type Forwarder, startForwarder } from "./proxy-forwarder.ts";
import { type StdioForwarder, startStdioForwarder } from "./stdio-forwarder.ts";
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
  /** The frames after `start` (stdin); their end means the host is gone. */
  frames: AsyncIterator<FrameLine>;
  write: FrameWriter;
  log: RunnerLog;
  /** The SDK's query (injected so the loop can be tested without the CLI). */
  query?: QueryFn;
  /** Receives the session input once created (signal handlers end it). */
  onSession?: (session: SessionInput, abort: AbortController) => void;
}

/** The result frame for one SDK result; `consumed` are the ids of the turn it ends. */
export function resultToFrame(msg: SDKResultMessage, consumed: string[]): ResultFrame {
  const usage = {
    inputTokens: msg.usage?.input_tokens ?? 0,
    outputTokens: msg.usage?.output_tokens ?? 0,
    cacheReadTokens: msg.usage?.cache_read_input_tokens ?? 0,
    cacheWriteTokens: msg.usage?.cache_creation_input_tokens ?? 0,
  };
  if (msg.subtype === "success" && !msg.is_error) {
    return {
      type: "result",
      status: "success",
      result: msg.result ? msg.result : null,
      consumed,
      newSessionId: msg.session_id,
      usage,
    };
  }
  const error =
    msg.subtype === "success"
      ? msg.result || "the model call failed"
      : [msg.subtype, ...(msg.errors ?? [])].filter(Boolean).join(": ");
  return {
    type: "result",
    status: "error",
    result: null,
    consumed,
    newSessionId: msg.session_id,
    error,
    usage,
  };
}

function readIfPresent(path: string): string | undefined {
  try {
    const text = readFileSync(path, "utf8").trim();
    return text || undefined;
  } catch {
    return undefined;
  }
}

/** Folders the agent may work in besides its own: the mounted extras, and every group's for main. */
export function additionalDirectories(
  paths: Pick<RunnerPaths, "extra" | "groups">,
  isMain: boolean,
): string[] {
  const dirs: string[] = [];
  if (isMain && existsSync(paths.groups)) dirs.push(paths.groups);
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
  mkdirSync(paths.group, { recursive: true });
  mkdirSync(paths.claudeConfigDir, { recursive: true });
  // An earlier run killed before its end left private entries behind.
  shareWithGroup(paths.claudeConfigDir);

  let forwarder: Forwarder | undefined;
  let stdioForwarder: StdioForwarder | undefined;
  let baseUrl = config.anthropicBaseUrl;
  if (!baseUrl && config.proxyTransport === "stdio") {
    stdioForwarder = await startStdioForwarder({ write, log });
    forwarder = stdioForwarder;
    baseUrl = stdioForwarder.url;
  } else if (!baseUrl) {
    if (!existsSync(paths.proxySocket)) {
      write(errorResult(`credential proxy socket missing at ${paths.proxySocket}`));
      return 1;
    }
    forwarder = await startForwarder(paths.proxySocket, log);
    baseUrl = forwarder.url;
  }
  const proxyToken = config.proxyToken ?? input.proxyToken;
  if (!proxyToken) log.warn("NGB_PROXY_TOKEN is not set; the proxy will refuse the requests");

  const session = createSessionInput({
    first: {
      id: input.inputId,
      text: input.isScheduledTask ? SCHEDULED_PREFIX + input.prompt : input.prompt,
      thread: input.thread,
    },
    idleTimeoutMs: input.idleTimeoutMs,
  });
  const abort = new AbortController();
  deps.onSession?.(session, abort);
  const link = createHostLink({ write, log, timeoutMs: config.requestTimeoutMs });
  const activity = createActivityReporter({ write });

  void pumpFrames(
    deps.frames,
    {
      input(frame) {
        if (session.push({ id: frame.id, text: frame.text, thread: frame.thread }))
          log.info("input received", { id: frame.id, chars: frame.text.length });
        else log.warn("input after the session ended, not answered", { id: frame.id });
      },
      close() {
        log.info("close requested");
        session.requestClose();
      },
      reply: (frame) => void link.reply(frame),
      ...(stdioForwarder ? { proxy: (frame: ProxyStreamFrame) => stdioForwarder?.receive(frame) } : {}),
      end(reason) {
        link.close(reason);
        if (session.endReason) return;
        log.warn("the host is gone, ending the session", { reason });
        session.end();
        abort.abort();
      },
    },
    log,
  );

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
    env: claudeEnv(config, baseUrl, proxyToken ?? "ngb-no-token"),
    permissionMode: "dontAsk",
    allowedTools: ALLOWED_TOOLS,
    disallowedTools: DISALLOWED_TOOLS,
    mcpServers: { ngb: createNgbMcpServer({ input, link, turn: () => session.inFlight, log }) },
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
  let lastStatus: ResultFrame["status"] | undefined;
  let exitCode = 0;
  try {
    for await (const msg of queryFn({ prompt: session.messages, options })) {
      if (msg.type === "system" && msg.subtype === "init" && results === 0) {
        log.info("session started", {
          sessionId: msg.session_id,
          model: msg.model,
          startupMs: Date.now() - started,
        });
      } else if (msg.type === "assistant") {
        activity.assistant(msg);
      } else if (msg.type === "result") {
        results++;
        const echoed =
          msg.user_message_uuids ?? (msg.user_message_uuid ? [msg.user_message_uuid] : undefined);
        const consumed = session.turnDone(echoed);
        if (consumed.length === 0 && session.inFlight)
          log.warn("a result for a turn the CLI started itself; ours is still running", { echoed });
        const frame = resultToFrame(msg, consumed);
        write(frame);
        lastStatus = frame.status;
        log.info("result", {
          n: results,
          status: frame.status,
          consumed,
          ms: msg.duration_ms,
          turns: msg.num_turns,
        });
      }
    }
    // The SDK ended on its own with a turn unanswered: that turn ends in an error result.
    if (!abort.signal.aborted && (results === 0 || session.inFlight)) {
      write(errorResult("the agent ended without a result", session.turnDone()));
      exitCode = 1;
    }
  } catch (err) {
    const message = (err as Error).message || String(err);
    if (abort.signal.aborted) {
      log.warn("aborted", { error: message });
    } else {
      log.error("agent failed", { error: message });
      // The CLI's own error result was already printed; do not report the same failure twice.
      const consumed = session.turnDone();
      if (lastStatus !== "error" || consumed.length > 0) write(errorResult(message, consumed));
      exitCode = 1;
    }
  } finally {
    session.end();
    link.close("the session ended");
    await forwarder?.stop();
    const shared = shareWithGroup(paths.claudeConfigDir);
    if (shared > 0) log.info("session dir entries made group-writable", { count: shared });
  }
  log.info("session ended", { reason: session.endReason, results, ms: Date.now() - started });
  return exitCode;
}
