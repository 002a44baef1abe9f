/**
 * Refused public requests — webhook calls with a bad secret, signature or body, failed logins —
 * counted and sampled in one place. Each refusal is a `request.rejected` event (counted in
 * `/metrics` as `ngb_public_requests_rejected_total{source,reason}`) and a warning under the
 * source's tag; the logger collapses repeats, so a flood of 10,000 bad calls is one line plus
 * "… repeated N times in 60 s" per minute and source, never 10,000 lines.
 */
import type { EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";

export interface Rejections {
  /** `source`: the channel or "login"; `reason`: a short code such as `bad_secret` or `bad_body`. */
  reject(source: string, reason: string): void;
}

const CODE = /^[a-z0-9_.-]{1,40}$/;

export function createRejections(deps: { events: EventBus; log: Logger }): Rejections {
  const tagged = new Map<string, Logger>();
  return {
    reject(source, reason) {
      // Labels are bounded: a caller can't grow the metrics with request-controlled text.
      const code = (x: string) => x.trim().toLowerCase().replace(/\s+/g, "_");
      const s = CODE.test(code(source)) ? code(source) : "other";
      const r = CODE.test(code(reason)) ? code(reason) : "other";
      deps.events.emit("request.rejected", { source: s, reason: r });
      let log = tagged.get(s);
      if (!log) {
        log = deps.log.withTag(s);
        tagged.set(s, log);
      }
      log.warn(`public request rejected: ${r}`);
    },
  };
}
