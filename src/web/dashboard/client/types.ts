/** Shapes the dashboard reads from the API (see /api/openapi.json). Type-only imports: erased in the bundle. */
import type { PluginStatus } from "../../../plugins/index.ts";
import type { RegisteredGroup, StoredMessage } from "../../../store/index.ts";

export type Msg = Pick<
  StoredMessage,
  "seq" | "id" | "chatJid" | "sender" | "senderName" | "content" | "timestamp" | "isFromMe" | "isBot"
>;
export type Group = Pick<
  RegisteredGroup,
  "jid" | "name" | "folder" | "triggerPattern" | "requiresTrigger" | "isMain"
> & {
  agent?: AgentState;
};
export interface Container {
  name: string;
  groupFolder: string;
  chatJid?: string;
  startedAt: number;
  reason?: string;
}
export interface AgentState {
  running: boolean;
  containers: Container[];
}
export interface Channel {
  name: string;
  state: string;
  connectedSince?: number;
  lastError?: string;
  lastErrorAt?: number;
  qr?: string;
}
export interface Status {
  version: string;
  uptimeSec: number;
  statusSource: string;
  channels: Channel[];
  containers: Container[];
  queue: { active: number; waiting: number } | null;
  groups: number;
  chats: number;
  tasks: number;
  recentErrors: { at: number; source: string; message: string }[];
  readiness?: Readiness | null;
}
export interface Readiness {
  ok: boolean;
  degraded: string[];
  components: {
    name: string;
    status: "ok" | "warn" | "degraded" | "unknown";
    detail: string;
    fix?: string;
  }[];
  checkedAt: number;
}
export interface Task {
  id: string;
  groupFolder: string;
  chatJid: string;
  prompt: string;
  scheduleType: string;
  scheduleValue: string;
  timezone?: string | null;
  contextMode?: string;
  catchUp?: string;
  status: string;
  nextRun: number | null;
  lastRun: number | null;
  lastError: string | null;
}
export interface TaskRun {
  id: number;
  startedAt: number;
  durationMs: number | null;
  status: string;
  result: string | null;
  error: string | null;
}
export type Plugin = PluginStatus;
export type View = (root: HTMLElement, arg: string | undefined) => (() => void) | undefined;
