/**
 * `ngb status`: the running serve's state — version and uptime, readiness (credentials,
 * engine, image, channels, each with its fix), running agents, the queue and recent errors.
 * Exit 1 when serve cannot be reached or something is degraded.
 */
import { defineCommand } from "citty";
import type { ReadinessReport } from "../health/index.ts";
import type { ChannelHealth } from "../orchestrator/channel.ts";
import type { RecentError } from "../web/recent-errors.ts";
import type { RunningContainer } from "../web/types.ts";
import { UserError } from "../util/errors.ts";
import { globalArgs, jsonArg, loadContext } from "./common.ts";

export interface ServeStatus {
  version: string;
  uptimeSec: number;
  channels: ChannelHealth[];
  containers: RunningContainer[];
  queue: { active: number; waiting: number } | null;
  groups: number;
  chats: number;
  tasks: number;
  recentErrors: RecentError[];
  readiness: ReadinessReport | null;
}

/** GET /api/status of the serve this config points at. */
export async function fetchServeStatus(
  config: import("../config/index.ts").Config,
  url?: string,
): Promise<{ status: ServeStatus; url: string }> {
  const { serveTarget, serveFetch, errorText } = await import("./serve-client.ts");
  const target = await serveTarget(config, url);
  const res = await serveFetch(target, "/api/status", { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new UserError(`ngb serve at ${target.url} answered ${await errorText(res)}`);
  return { status: (await res.json()) as ServeStatus, url: target.url };
}

function duration(sec: number): string {
  if (sec < 120) return `${sec}s`;
  if (sec < 7200) return `${Math.round(sec / 60)}m`;
  if (sec < 172800) return `${(sec / 3600).toFixed(1)}h`;
  return `${Math.round(sec / 86400)}d`;
}

export function formatStatus(s: ServeStatus, url: string, now = Date.now()): string {
  const out: string[] = [`ngb ${s.version} at ${url}, up ${duration(s.uptimeSec)}`];
  const r = s.readiness;
  if (r) {
    out.push(r.ok ? "ready: everything needed to answer works" : `degraded: ${r.degraded.join(", ")}`);
    const mark = { ok: "✓", warn: "!", degraded: "✗", unknown: "?" } as const;
    for (const c of r.components) {
      out.push(`  ${mark[c.status]} ${c.name}: ${c.detail}`);
      if (c.fix && c.status !== "ok") out.push(`      fix: ${c.fix}`);
    }
  }
  const channels = s.channels.map((c) => `${c.name} ${c.state}`).join(", ");
  out.push(`channels: ${channels || "none"}`);
  out.push(
    `groups ${s.groups}, chats ${s.chats}, active tasks ${s.tasks}, queue ${s.queue ? `${s.queue.active} running / ${s.queue.waiting} waiting` : "-"}`,
  );
  if (s.containers.length > 0) {
    out.push("agents running:");
    for (const c of s.containers)
      out.push(`  ${c.groupFolder} (${c.name}) for ${duration(Math.round((now - c.startedAt) / 1000))}`);
  }
  const errors = s.recentErrors.slice(-5);
  if (errors.length > 0) {
    out.push("recent errors:");
    for (const e of errors) out.push(`  ${new Date(e.at).toLocaleTimeString()} ${e.source}: ${e.message}`);
  }
  return `${out.join("\n")}\n`;
}

export default defineCommand({
  meta: {
    name: "status",
    description: "Show the running serve's state: readiness, channels, agents, errors",
  },
  args: {
    ...globalArgs,
    ...jsonArg,
    url: { type: "string", description: "Base URL of ngb serve (default from web.host / web.port)" },
  },
  async run({ args }) {
    const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
    const { status, url } = await fetchServeStatus(config, args.url);
    if (args.json) process.stdout.write(`${JSON.stringify({ url, ...status })}\n`);
    else process.stdout.write(formatStatus(status, url));
    process.exitCode = status.readiness && !status.readiness.ok ? 1 : 0;
  },
});
