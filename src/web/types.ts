/**
 * What the web app needs from the rest of the process. Optional providers (runtime status,
 * task service) are wired by `serve`; endpoints that need a missing one answer 503 and say so.
 */
import type { Hono } from "hono";
import type { EventBus } from "../events/index.ts";
import type { ReadinessReport } from "../health/index.ts";
import type { Logger } from "../log/index.ts";
import type { ChannelHealth } from "../orchestrator/channel.ts";
import type { TaskService } from "../scheduler/index.ts";
import type { RegisteredGroup, Store } from "../store/index.ts";

export interface RunningContainer {
  name: string;
  groupFolder: string;
  chatJid?: string;
  startedAt: number;
  reason?: "messages" | "task";
  taskId?: string;
}

/** Live state of the running process, provided by the runtime (orchestrator, queue, channels). */
export interface RuntimeStatus {
  containers(): RunningContainer[];
  /** Stop a running container by name; false when no such container runs. */
  stopContainer(name: string): Promise<boolean>;
  queue(): { active: number; waiting: number };
  channels(): ChannelHealth[];
}

/** The scheduler's task service; the API acts as `{ kind: "api" }` (admin rights, like the CLI). */
export type WebTaskOps = Pick<TaskService, "create" | "pause" | "resume" | "cancel">;

export interface WebDeps {
  store: Store;
  events: EventBus;
  log: Logger;
  /** The access token (see token.ts `ensureWebToken`). */
  token: string;
  /** Readiness probe: true once every component has started. */
  ready: () => boolean;
  /** What works and what is degraded (credentials, engine, image, channels), for /readyz and status. */
  readiness?: () => ReadinessReport;
  /** Request body limit (config.web.maxBodyBytes). */
  maxBodyBytes?: number;
  /** Live status provider, wired by the runtime. */
  runtime?: RuntimeStatus;
  /** Task mutations via the scheduler's `createTaskService` (reads go to the store). */
  tasks?: WebTaskOps;
  /**
   * Register a group the way the orchestrator does (folders, IPC dirs, `group.registered`).
   * Without it the API adds the row to the store and emits the event itself.
   */
  registerGroup?: (g: Omit<RegisteredGroup, "addedAt">) => RegisteredGroup;
  /** Failed auth attempts per address before 429, and the window. */
  authLimit?: { maxFailures?: number; windowMs?: number };
  now?: () => number;
  /** Extra routes (the web channel's /api/webchat/*) mounted behind auth. */
  mount?: (app: Hono) => void;
}
