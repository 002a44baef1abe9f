/**
 * The one health/status helper every channel uses: it keeps `health()`'s snapshot and reports
 * changes to the sink (`channel.status` events, the dashboard), with the same rules everywhere:
 * - `connectedSince` is set when the channel becomes connected and cleared when it stops being;
 * - an error is remembered (`lastError`, `lastErrorAt`) until the next one;
 * - a pairing QR is shown while connecting and dropped once connected or disconnected;
 * - the sink hears every state change and every update carrying an error or a QR, not repeats.
 */
import type { ChannelHealth, ChannelSink, ChannelStatusUpdate } from "../../orchestrator/channel.ts";
import type { Clock } from "./clock.ts";

export interface HealthTracker {
  /** Report to this sink from now on (set in connect()). */
  attach(sink: ChannelSink | undefined): void;
  set(update: ChannelStatusUpdate): void;
  /** A copy of the current health, for `Channel.health()`. */
  snapshot(): ChannelHealth;
  readonly state: ChannelStatusUpdate["state"];
}

export function createHealth(name: string, options: { clock?: Pick<Clock, "now"> } = {}): HealthTracker {
  const now = options.clock?.now ?? Date.now;
  const health: ChannelHealth = { name, state: "disconnected" };
  let sink: ChannelSink | undefined;
  return {
    attach(s) {
      sink = s;
    },
    set(update) {
      const changed = health.state !== update.state;
      if (update.state === "connected") {
        if (changed || health.connectedSince === undefined) health.connectedSince = now();
      } else delete health.connectedSince;
      if (update.error) {
        health.lastError = update.error;
        health.lastErrorAt = now();
      }
      if (update.qr !== undefined) health.qr = update.qr;
      if (update.state === "connected" || update.state === "disconnected") delete health.qr;
      health.state = update.state;
      if (changed || update.error !== undefined || update.qr !== undefined) sink?.status(update);
    },
    snapshot() {
      return { ...health };
    },
    get state() {
      return health.state;
    },
  };
}
