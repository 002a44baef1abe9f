/**
 * What the web app needs from the rest of the process. Optional providers (runtime status,
 * task service) are wired by `serve`; endpoints that need a missing one answer 503 and say so.
 */
import type { Hono } from "hono";
import type { EventBus } from "../events/index.ts";
import type { GroupService } from "../groups/index.ts";
import type { Rejections } from "./rejections.ts";
import type { ReadinessReport } from "../health/index.ts";
import type { Logger } from "../log/index.ts";
import type { PluginHost } from "../plugins/index.ts";
import type { ChannelHealth } from "../orchestrator/channel.ts";
import type { TaskService } from "../scheduler/index.ts";
import type { Store } from "../store/index.ts";

export interface RunningContainer {
  name: string;
  groupFolder: string;
  chatJid?: string;
  startedAt: number;
  reason?: "messages" | "task";
  taskId?: string;
}

/**
 * Live state of the running process, provided by the runtime (orchestrator, queue, channels):
 * the one source for `/api/status`, `/api/channels`, `/api/containers` and the `/metrics` gauges.
 */
export interface RuntimeStatus {
  containers(): RunningContainer[];
  /** Stop a running container by name; false when no such container runs. */
  stopContainer(name: string): Promise<boolean>;
  queue(): { active: number; waiting: number };
  channels(): ChannelHealth[];
  /** Time since the runtime started, from a monotonic clock (never negative after a clock change). */
  uptimeMs(): number;
  /** The container engine: unreachable means runs wait for it (degraded, not down). */
  engine?(): { ok: boolean; error?: string; since: number };
}

/** The plugin host's management side (list, enable, disable, reload, per-hook metrics). */
export type WebPluginOps = Pick<PluginHost, "list" | "get" | "enable" | "disable" | "reload" | "metrics">;

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
  /** Live status, provided by the runtime. */
  runtime: RuntimeStatus;
  /** Task mutations via the scheduler's `createTaskService` (reads go to the store). */
  tasks?: WebTaskOps;
  /** Group registration, updates and removal (the one group service). */
  groups: GroupService;
  /** Counts and samples refused public requests (default: one of its own on `events`). */
  rejections?: Rejections;
  /** The plugin host, wired by the runtime. */
  plugins?: WebPluginOps;
  /** Failed auth attempts per address before 429, and the window. */
  authLimit?: { maxFailures?: number; windowMs?: number };
  /** Dashboard session lifetimes (config web.sessionIdleMs / web.sessionMaxAgeMs). */
  sessions?: { idleMs?: number; maxAgeMs?: number };
  /** config.container.allowHostNetwork: a group may then ask for `network: "host"`. */
  allowHostNetwork?: boolean;
  now?: () => number;
  /** Extra routes (the web channel's /api/webchat/*) mounted behind auth. */
  mount?: (app: Hono) => void;
}
