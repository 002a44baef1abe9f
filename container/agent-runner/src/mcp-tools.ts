/**
 * The `ngb` MCP server the agent sees: send_message, schedule_task, list_tasks, pause_task,
 * resume_task, cancel_task, and register_group for the main group. Every tool only writes an
 * IPC request file (or reads the host's snapshot); the host validates and authorizes each
 * request again, so nothing here is trusted.
 */
import { readFileSync } from "node:fs";
import { createSdkMcpServer, type SdkMcpToolDefinition, tool } from "@anthropic-ai/claude-agent-sdk";
import { z } from "zod";
import type { ContainerInput, IpcRequest } from "../../../src/protocol/index.ts";
import type { RunnerPaths } from "./config.ts";
import type { RunnerLog } from "./io.ts";
import { writeIpcFile } from "./ipc-writer.ts";

export const MCP_SERVER_NAME = "ngb";

export interface NgbToolsOptions {
  input: Pick<ContainerInput, "chatJid" | "groupFolder" | "isMain">;
  paths: Pick<RunnerPaths, "ipcMessages" | "ipcTasks" | "tasksSnapshot">;
  log: RunnerLog;
}

type ToolResult = { content: { type: "text"; text: string }[]; isError?: boolean };

const ok = (text: string): ToolResult => ({ content: [{ type: "text", text }] });
const fail = (text: string): ToolResult => ({ content: [{ type: "text", text }], isError: true });

/** The tool handlers as plain functions (tested without the SDK). */
export function createNgbHandlers({ input, paths, log }: NgbToolsOptions) {
  const request = (dir: string, req: IpcRequest, confirmation: string): ToolResult => {
    try {
      const file = writeIpcFile(dir, req);
      log.info("ipc request written", { type: req.type, file });
      return ok(confirmation);
    } catch (err) {
      return fail(`Not sent: ${(err as Error).message}`);
    }
  };

  return {
    sendMessage(args: { text: string; chatJid?: string }): ToolResult {
      const chatJid = args.chatJid || input.chatJid;
      return request(
        paths.ipcMessages,
        { type: "message", chatJid, text: args.text },
        chatJid === input.chatJid
          ? "Message queued for delivery to this chat."
          : `Message queued for delivery to ${chatJid}.`,
      );
    },

    scheduleTask(args: {
      prompt: string;
      schedule_type: "cron" | "interval" | "once";
      schedule_value: string;
      context_mode?: "group" | "isolated";
      timezone?: string;
      catch_up?: "run-once" | "skip";
      target_jid?: string;
    }): ToolResult {
      return request(
        paths.ipcTasks,
        {
          type: "schedule_task",
          prompt: args.prompt,
          scheduleType: args.schedule_type,
          scheduleValue: args.schedule_value,
          contextMode: args.context_mode,
          timezone: args.timezone,
          catchUp: args.catch_up,
          targetJid: args.target_jid,
        },
        `Task scheduled (${args.schedule_type} ${args.schedule_value}). The host confirms it in the task list; use list_tasks to see it.`,
      );
    },

    listTasks(): ToolResult {
      let raw: string;
      try {
        raw = readFileSync(paths.tasksSnapshot, "utf8");
      } catch {
        return ok("No scheduled tasks.");
      }
      let tasks: unknown;
      try {
        tasks = JSON.parse(raw);
      } catch {
        return fail("The task list from the host is unreadable right now.");
      }
      const list = Array.isArray(tasks) ? tasks : ((tasks as { tasks?: unknown[] })?.tasks ?? []);
      const visible = (list as Record<string, unknown>[]).filter(
        (t) => input.isMain || t.groupFolder === undefined || t.groupFolder === input.groupFolder,
      );
      if (visible.length === 0) return ok("No scheduled tasks.");
      const lines = visible.map((t) => {
        const parts = [
          `- [${String(t.id ?? t.taskId ?? "?")}]`,
          t.status ? `(${String(t.status)})` : "",
          t.scheduleType ? `${String(t.scheduleType)} ${String(t.scheduleValue ?? "")}` : "",
          t.nextRun ? `next: ${String(t.nextRun)}` : "",
          input.isMain && t.groupFolder ? `group: ${String(t.groupFolder)}` : "",
          `— ${String(t.prompt ?? "").slice(0, 120)}`,
        ];
        return parts.filter(Boolean).join(" ");
      });
      return ok(`Scheduled tasks:\n${lines.join("\n")}`);
    },

    taskAction(type: "pause_task" | "resume_task" | "cancel_task", taskId: string): ToolResult {
      const verb = { pause_task: "pause", resume_task: "resume", cancel_task: "cancel" }[type];
      return request(paths.ipcTasks, { type, taskId }, `Request to ${verb} task ${taskId} sent.`);
    },

    registerGroup(args: {
      jid: string;
      name: string;
      folder: string;
      trigger?: string;
      requires_trigger?: boolean;
    }): ToolResult {
      if (!input.isMain) return fail("Only the main group may register groups.");
      return request(
        paths.ipcTasks,
        {
          type: "register_group",
          jid: args.jid,
          name: args.name,
          folder: args.folder,
          trigger: args.trigger,
          requiresTrigger: args.requires_trigger,
        },
        `Request to register group "${args.name}" (folder ${args.folder}) sent.`,
      );
    },
  };
}

/** The SDK MCP server config for `query({ options: { mcpServers: { ngb: ... } } })`. */
export function createNgbMcpServer(options: NgbToolsOptions) {
  const h = createNgbHandlers(options);
  const taskId = { task_id: z.string().min(1).describe("The task id, as shown by list_tasks") };
  // biome-ignore lint/suspicious/noExplicitAny: one list of tools with different schemas
  const tools: SdkMcpToolDefinition<any>[] = [
    tool(
      "send_message",
      "Send a message to the chat right away, while you keep working (progress updates, or several messages). Your final reply is delivered anyway; do not repeat it here.",
      {
        text: z.string().min(1).describe("The message text"),
        chatJid: z.string().optional().describe("Target chat id; defaults to this chat"),
      },
      async (args) => h.sendMessage(args),
    ),
    tool(
      "schedule_task",
      "Schedule a prompt to run later as this agent. schedule_type: 'cron' (value a cron expression like '0 9 * * 1-5'), 'interval' (value in milliseconds, e.g. '3600000'), or 'once' (value an ISO 8601 time, e.g. '2026-01-31T09:00:00'). context_mode 'group' runs with this chat's history and session, 'isolated' in a fresh session (give all needed context in the prompt).",
      {
        prompt: z.string().min(1).describe("What the agent should do when the task runs"),
        schedule_type: z.enum(["cron", "interval", "once"]),
        schedule_value: z.string().min(1),
        context_mode: z.enum(["group", "isolated"]).optional(),
        timezone: z.string().optional().describe("IANA time zone for cron/once, e.g. Europe/Paris"),
        catch_up: z
          .enum(["run-once", "skip"])
          .optional()
          .describe("What to do about runs missed while the host was down"),
        target_jid: z.string().optional().describe("Chat that receives the result; defaults to this chat"),
      },
      async (args) => h.scheduleTask(args),
    ),
    tool("list_tasks", "List the scheduled tasks (with their ids and status).", {}, async () =>
      h.listTasks(),
    ),
    tool("pause_task", "Pause a scheduled task.", taskId, async (args) =>
      h.taskAction("pause_task", args.task_id),
    ),
    tool("resume_task", "Resume a paused task.", taskId, async (args) =>
      h.taskAction("resume_task", args.task_id),
    ),
    tool("cancel_task", "Cancel (delete) a scheduled task.", taskId, async (args) =>
      h.taskAction("cancel_task", args.task_id),
    ),
  ];
  if (options.input.isMain) {
    tools.push(
      tool(
        "register_group",
        "Register a new chat as a group with its own agent, folder and memory (main group only).",
        {
          jid: z.string().min(1).describe("Chat id of the group to register"),
          name: z.string().min(1).describe("Display name"),
          folder: z
            .string()
            .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
            .describe("Folder name: lowercase letters, digits, - or _"),
          trigger: z.string().optional().describe("Trigger word, e.g. @Andy"),
          requires_trigger: z.boolean().optional().describe("Only answer messages that contain the trigger"),
        },
        async (args) => h.registerGroup(args),
      ),
    );
  }
  return createSdkMcpServer({ name: MCP_SERVER_NAME, version: "1.0.0", tools, alwaysLoad: true });
}

/** Tool names the agent may use without asking. */
export const NGB_TOOL_PATTERN = `mcp__${MCP_SERVER_NAME}__*`;
