/**
 * Readiness beyond liveness: what `ngb serve` needs to actually answer — credentials that the
 * model API accepts, a reachable container engine, a current agent image, each enabled
 * channel connected. Checked at start (each missing piece logged with its fix), re-checked in
 * the background, and served on `/readyz`, `/api/status` and the dashboard overview.
 */
import type { Config } from "../config/index.ts";
import type { RunFn } from "../image/index.ts";
import type { Logger } from "../log/index.ts";
import type { ChannelHealth } from "../orchestrator/channel.ts";
import type { CredentialCheck } from "./credentials.ts";
import { verifyCredentials } from "./credentials.ts";
import { type ComponentCheck, checkEngine, checkImage } from "./engine.ts";

export interface ReadinessComponent {
  /** "credentials", "engine", "image", "channel:<name>". */
  name: string;
  /** ok; warn: works but should be fixed (an older image); degraded: cannot answer; unknown: not determined. */
  status: "ok" | "warn" | "degraded" | "unknown";
  detail: string;
  fix?: string;
}

export interface ReadinessReport {
  ok: boolean;
  /** Names of the degraded components. */
  degraded: string[];
  components: ReadinessComponent[];
  checkedAt: number;
}

export interface ReadinessDeps {
  config: Pick<Config, "anthropic" | "container" | "dataDir">;
  log: Logger;
  channels?: () => ChannelHealth[];
  /** False when agents run without docker (tests with an injected runner). */
  checkContainers?: boolean;
  fetch?: typeof fetch;
  run?: RunFn;
  now?: () => number;
  /** Background re-check period; default 5 minutes. 0: never. */
  intervalMs?: number;
}

export interface Readiness {
  /** Runs every check now (also logs what is missing). */
  refresh(): Promise<ReadinessReport>;
  /** The last result, with channels as they are right now. */
  report(): ReadinessReport;
  /** The model API refused the credentials during a run (from the proxy). */
  markCredentialsRejected(detail: string): void;
  stop(): void;
}

function fromCheck(name: string, c: ComponentCheck): ReadinessComponent {
  return { name, status: c.status === "fail" ? "degraded" : c.status, detail: c.detail, fix: c.fix };
}

function fromCredentials(c: CredentialCheck): ReadinessComponent {
  const status = c.status === "ok" ? "ok" : c.status === "unverified" ? "unknown" : "degraded";
  return { name: "credentials", status, detail: c.detail, fix: c.fix };
}

export function channelComponent(h: ChannelHealth): ReadinessComponent {
  const name = `channel:${h.name}`;
  if (h.state === "connected") return { name, status: "ok", detail: "connected" };
  if (h.state === "connecting")
    return {
      name,
      status: h.qr ? "degraded" : "unknown",
      detail: h.qr ? "waiting for the pairing QR to be scanned" : "connecting",
      fix: h.qr ? "scan the QR (dashboard → Channels, or the serve log)" : undefined,
    };
  return {
    name,
    status: "degraded",
    detail: h.lastError ? `${h.state}: ${h.lastError}` : h.state,
    fix: `check channels.${h.name} credentials (ngb doctor verifies them)`,
  };
}

export function createReadiness(deps: ReadinessDeps): Readiness {
  const log = deps.log.withTag("readiness");
  const now = deps.now ?? Date.now;
  let fixed: ReadinessComponent[] = [{ name: "credentials", status: "unknown", detail: "not checked yet" }];
  let checkedAt = 0;
  let channelsBefore: ReadinessComponent[] = [];
  let running: Promise<ReadinessReport> | null = null;

  const report = (): ReadinessReport => {
    const components = [
      ...fixed,
      ...(deps.channels?.() ?? []).filter((c) => c.name !== "web").map(channelComponent),
    ];
    const degraded = components.filter((c) => c.status === "degraded").map((c) => c.name);
    return { ok: degraded.length === 0, degraded, components, checkedAt };
  };

  async function check(): Promise<ReadinessReport> {
    const { anthropic } = deps.config;
    const [cred, engine] = await Promise.all([
      verifyCredentials({
        baseUrl: anthropic.baseUrl,
        apiKey: anthropic.apiKey,
        authToken: anthropic.authToken,
        fetch: deps.fetch,
      }),
      deps.checkContainers === false ? null : checkEngine(deps.config, deps.run),
    ]);
    const next = [fromCredentials(cred)];
    if (engine) {
      next.push(fromCheck("engine", engine));
      if (engine.status === "ok") next.push(fromCheck("image", await checkImage(deps.config, deps.run)));
      else next.push({ name: "image", status: "unknown", detail: "engine not reachable" });
    }
    const before = new Map([...fixed, ...channelsBefore].map((c) => [c.name, c.status]));
    fixed = next;
    checkedAt = now();
    const channels = (deps.channels?.() ?? []).filter((c) => c.name !== "web").map(channelComponent);
    channelsBefore = channels;
    for (const c of [...next, ...channels]) {
      if ((c.status === "degraded" || c.status === "warn") && before.get(c.name) !== c.status)
        log.warn(`${c.name}: ${c.detail}${c.fix ? ` — fix: ${c.fix}` : ""}`);
      else if (c.status === "unknown" && c.name === "credentials") log.warn(`credentials: ${c.detail}`);
      else if (c.status === "ok" && before.get(c.name) === "degraded") log.info(`${c.name}: ${c.detail}`);
    }
    return report();
  }

  const timer =
    deps.intervalMs === 0
      ? undefined
      : setInterval(() => void refresh().catch(() => undefined), deps.intervalMs ?? 5 * 60_000);
  (timer as { unref?: () => void } | undefined)?.unref?.();

  function refresh(): Promise<ReadinessReport> {
    running ??= check().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    refresh,
    report,
    markCredentialsRejected(detail) {
      fixed = fixed.map((c) =>
        c.name === "credentials"
          ? {
              ...c,
              status: "degraded",
              detail,
              fix: "run `ngb setup` (or fix ANTHROPIC_API_KEY) and restart ngb serve",
            }
          : c,
      );
    },
    stop() {
      clearInterval(timer);
    },
  };
}
