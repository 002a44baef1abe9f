/**
 * Prometheus metrics fed by the event bus (no polling): messages in/out per channel, agent runs
 * and durations, queue depth, active containers, task runs by status, errors. `render()` gives
 * the text exposition format (version 0.0.4).
 */
import type { EventBus } from "../events/index.ts";

const BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, val]) => `${k}="${val.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}

class Counter {
  readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1) {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(out: string[]) {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    if (this.values.size === 0) out.push(`${this.name} 0`);
    for (const [k, val] of this.values) out.push(`${this.name}${k ? `{${k}}` : ""} ${val}`);
  }
}

class Histogram {
  readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  observe(labels: Labels, value: number) {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < BUCKETS.length; i++)
      if (value <= (BUCKETS[i] ?? 0)) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += value;
    s.count++;
  }
  render(out: string[]) {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : "";
      for (let i = 0; i < BUCKETS.length; i++)
        out.push(`${this.name}_bucket{${sep}le="${BUCKETS[i]}"} ${s.counts[i]}`);
      out.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      out.push(
        `${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}`,
        `${this.name}_count${k ? `{${k}}` : ""} ${s.count}`,
      );
    }
  }
}

export interface Metrics {
  render(extra?: { activeContainers?: number; queue?: { active: number; waiting: number } | null }): string;
  stop(): void;
}

export function createMetrics(events: EventBus): Metrics {
  const messagesIn = new Counter("ngb_messages_in_total", "Inbound messages stored, by channel");
  const messagesOut = new Counter("ngb_messages_out_total", "Replies sent, by channel");
  const sendFailures = new Counter("ngb_messages_failed_total", "Replies that failed to send, by channel");
  const agentRuns = new Counter("ngb_agent_runs_total", "Finished agent runs, by status");
  const agentDuration = new Histogram("ngb_agent_run_duration_seconds", "Agent run duration");
  const taskRuns = new Counter("ngb_task_runs_total", "Scheduled task runs, by status");
  const errors = new Counter("ngb_errors_total", "Errors reported on the event bus, by source");
  const ipcRejected = new Counter("ngb_ipc_rejected_total", "IPC requests refused");
  const channelUp = new Map<string, number>();
  let active = 0;
  let queue = { active: 0, waiting: 0 };

  const offs = [
    events.on("message.stored", (e) => {
      if (!e.isFromMe) messagesIn.inc({ channel: e.channel });
    }),
    events.on("message.sent", (e) => messagesOut.inc({ channel: e.channel })),
    events.on("message.failed", (e) => sendFailures.inc({ channel: e.channel })),
    events.on("agent.started", () => {
      active++;
    }),
    events.on("agent.finished", (e) => {
      active = Math.max(0, active - 1);
      agentRuns.inc({ status: e.status });
      agentDuration.observe({}, e.durationMs / 1000);
    }),
    events.on("task.run", (e) => {
      if (e.status !== "running") taskRuns.inc({ status: e.status });
    }),
    events.on("queue.changed", (e) => {
      queue = { active: e.active, waiting: e.waiting };
    }),
    events.on("channel.status", (e) => channelUp.set(e.channel, e.state === "connected" ? 1 : 0)),
    events.on("ipc.rejected", () => ipcRejected.inc()),
    events.on("error", (e) => errors.inc({ source: e.source.split(/\s/)[0] ?? "unknown" })),
  ];

  return {
    render(extra = {}) {
      const out: string[] = [];
      for (const m of [messagesIn, messagesOut, sendFailures, agentRuns, taskRuns, errors, ipcRejected])
        m.render(out);
      agentDuration.render(out);
      const q = extra.queue ?? queue;
      out.push(
        "# HELP ngb_active_containers Agent containers running now",
        "# TYPE ngb_active_containers gauge",
        `ngb_active_containers ${extra.activeContainers ?? active}`,
        "# HELP ngb_queue_active Groups with an agent run in progress",
        "# TYPE ngb_queue_active gauge",
        `ngb_queue_active ${q.active}`,
        "# HELP ngb_queue_waiting Groups waiting for a container slot",
        "# TYPE ngb_queue_waiting gauge",
        `ngb_queue_waiting ${q.waiting}`,
        "# HELP ngb_channel_up 1 when the channel is connected",
        "# TYPE ngb_channel_up gauge",
      );
      for (const [name, up] of channelUp) out.push(`ngb_channel_up{channel="${name}"} ${up}`);
      out.push(
        "# HELP ngb_process_resident_bytes Resident memory of the ngb process",
        "# TYPE ngb_process_resident_bytes gauge",
        `ngb_process_resident_bytes ${process.memoryUsage.rss()}`,
      );
      return `${out.join("\n")}\n`;
    },
    stop() {
      for (const off of offs) off();
    },
  };
}
