/**
 * The `ngb` MCP server the agent sees: send_message, schedule_task, list_tasks, pause_task,
 * resume_task, cancel_task, and for the main group register_group and list_groups. Every tool
 * is one request to the host over stdio; the tool's result is the host's reply text (an error
 * result when the host refused, so the model reads the reason). The host validates and
 * authorizes every request again, so nothing here is trusted.
 */
import { createSdkMcpServer, type SdkMcpToolDefinition, tool } from "@anthropic-ai/claude-agent-sdk";
import { z } from "zod";
import type { ContainerInput, IpcRequest } from "../../../src/protocol/index.ts";
import type { HostLink } from "./host-link.ts";
import type { RunnerLog } from "./io.ts";

export const MCP_SERVER_NAME = "ngb";

export interface NgbToolsOptions {
  input: Pick<ContainerInput, "chatJid" | "isMain">;
  link: Pick<HostLink, "request">;
  /** Ids of the turn in flight (sent with each request for the host's idempotency keys). */
  turn: () => readonly string[] | undefined;
  log: RunnerLog;
}

export type ToolResult = { content: { type: "text"; text: string }[]; isError?: boolean };

const ok = (text: string): ToolResult => ({ content: [{ type: "text", text }] });
const fail = (text: string): ToolResult => ({ content: [{ type: "text", text }], isError: true });

/** The tool handlers as plain functions (tested without the SDK). */
export function createNgbHandlers({ input, link, turn, log }: NgbToolsOptions) {
  const request = async (req: IpcRequest): Promise<ToolResult> => {
    try {
      const reply = await link.request(req, turn());
      log.info("host replied", { type: req.type, ok: reply.ok });
      const text = reply.text || (reply.ok ? "Done." : "The host refused the request.");
      return reply.ok ? ok(text) : fail(text);
    } catch (err) {
      return fail(`Not sent: ${(err as Error).message}`);
    }
  };
  const mainOnly = (what: string) => fail(`Only the main group may ${what}.`);

  return {
    sendMessage: (args: { text: string; chatJid?: string }) =>
      request({ type: "message", chatJid: args.chatJid || input.chatJid, text: args.text }),

    scheduleTask: (args: {
      prompt: string;
      schedule_type: "cron" | "interval" | "once";
      schedule_value: string;
      context_mode?: "group" | "isolated";
      timezone?: string;
      catch_up?: "run-once" | "skip";
      target_jid?: string;
    }) =>
      request({
        type: "schedule_task",
        prompt: args.prompt,
        scheduleType: args.schedule_type,
        scheduleValue: args.schedule_value,
        contextMode: args.context_mode,
        timezone: args.timezone,
        catchUp: args.catch_up,
        targetJid: args.target_jid,
      }),

    listTasks: () => request({ type: "list_tasks" }),

    taskAction: (type: "pause_task" | "resume_task" | "cancel_task", taskId: string) =>
      request({ type, taskId }),

    registerGroup: (args: {
      jid: string;
      name: string;
      folder: string;
      trigger?: string;
      requires_trigger?: boolean;
    }) =>
      input.isMain
        ? request({
            type: "register_group",
            jid: args.jid,
            name: args.name,
            folder: args.folder,
            trigger: args.trigger,
            requiresTrigger: args.requires_trigger,
          })
        : Promise.resolve(mainOnly("register groups")),

    listGroups: () =>
      input.isMain ? request({ type: "list_groups" }) : Promise.resolve(mainOnly("list groups")),
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
      "Send a message to the chat right away, while you keep working (progress updates, or several messages). Your final reply is delivered anyway; do not repeat it here. The result says whether the host accepted the message, or why not.",
      {
        text: z.string().min(1).describe("The message text"),
        chatJid: z.string().optional().describe("Target chat id; defaults to this chat"),
      },
      (args) => h.sendMessage(args),
    ),
    tool(
      "schedule_task",
      "Schedule a prompt to run later as this agent. schedule_type: 'cron' (value a cron expression like '0 9 * * 1-5'), 'interval' (value in milliseconds, e.g. '3600000'), or 'once' (value an ISO 8601 time, e.g. '2026-01-31T09:00:00'). context_mode 'group' runs with this chat's history and session, 'isolated' in a fresh session (give all needed context in the prompt). The result is the host's confirmation (with the task id) or the reason it refused.",
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
      (args) => h.scheduleTask(args),
    ),
    tool(
      "list_tasks",
      "List the scheduled tasks (JSON: id, status, schedule, next run, prompt); the main group sees every group's tasks.",
      {},
      () => h.listTasks(),
    ),
    tool("pause_task", "Pause a scheduled task.", taskId, (args) => h.taskAction("pause_task", args.task_id)),
    tool("resume_task", "Resume a paused task.", taskId, (args) => h.taskAction("resume_task", args.task_id)),
    tool("cancel_task", "Cancel (delete) a scheduled task.", taskId, (args) =>
      h.taskAction("cancel_task", args.task_id),
    ),
  ];
  if (options.input.isMain) {
    tools.push(
      tool(
        "register_group",
        "Register a new chat as a group with its own agent, folder and memory (main group only). Use list_groups to find the chat id.",
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
        (args) => h.registerGroup(args),
      ),
      tool(
        "list_groups",
        "List the registered groups and the chats seen but not registered yet (JSON), main group only. Every group's folder is readable under /workspace/groups/<folder>.",
        {},
        () => h.listGroups(),
      ),
    );
  }
  return createSdkMcpServer({ name: MCP_SERVER_NAME, version: "1.0.0", tools, alwaysLoad: true });
}

/** Tool names the agent may use without asking. */
export const NGB_TOOL_PATTERN = `mcp__${MCP_SERVER_NAME}__*`;
