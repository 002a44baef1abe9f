/**
 * `ngb doctor`'s checks that look with serve's eyes: the config as serve would refuse it
 * (bind without a token, the port taken, a too-long proxy socket path), the credentials
 * verified with a real request, the running serve's own readiness, and what `--fix` repairs
 * (missing or outdated agent image, default memory files, a `.env` readable by others).
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Config } from "../config/index.ts";
import type { CheckResult } from "./doctor.ts";

/** A check may carry a repair that `--fix` runs; it returns one line saying what it did. */
export type FixableResult = CheckResult & { repair?: () => Promise<string> };

/** What serve refuses at start beyond the schema (which the shared loader already checked). */
export async function serveConfigChecks(config: Config, serverRunning: boolean): Promise<FixableResult[]> {
  const out: FixableResult[] = [];
  const { assertSafeBind } = await import("../web/token.ts");
  try {
    assertSafeBind(config);
    out.push({ name: "web bind", status: "ok", detail: `${config.web.host}:${config.web.port}` });
  } catch (err) {
    out.push({ name: "web bind", status: "fail", detail: (err as Error).message, fix: "see the message" });
  }
  if (!serverRunning && config.web.port !== 0) {
    try {
      const probe = Bun.serve({
        hostname: config.web.host,
        port: config.web.port,
        fetch: () => new Response(),
      });
      await probe.stop(true);
    } catch (err) {
      out.push({
        name: "web port",
        status: "fail",
        detail: `${config.web.host}:${config.web.port} is taken by another program (${(err as NodeJS.ErrnoException).code ?? "in use"})`,
        fix: "stop that program, or set web.port / NGB_WEB_PORT (or `ngb serve --port`)",
      });
    }
  }
  const socket = join(config.dataDir, "proxy", "proxy.sock");
  if (Buffer.byteLength(socket) > 107)
    out.push({
      name: "dataDir",
      status: "fail",
      detail: `the credential proxy socket path would be ${Buffer.byteLength(socket)} bytes (unix limit 107): ${socket}`,
      fix: "use a shorter dataDir",
    });
  return out;
}

/** The credentials, verified with a real request to anthropic.baseUrl. */
export async function credentialsCheck(config: Config): Promise<FixableResult> {
  const { verifyCredentials } = await import("../health/index.ts");
  const c = await verifyCredentials({
    baseUrl: config.anthropic.baseUrl,
    apiKey: config.anthropic.apiKey,
    authToken: config.anthropic.authToken,
  });
  const status = c.status === "ok" ? "ok" : c.status === "unverified" ? "warn" : "fail";
  return { name: "Anthropic credentials", status, detail: c.detail, fix: c.fix };
}

/** Asks the running serve (if any) for its own view: readiness, channels, recent errors. */
export async function serverChecks(
  config: Config,
  url?: string,
): Promise<{ running: boolean; results: FixableResult[] }> {
  const { fetchServeStatus } = await import("./status.ts");
  let got: Awaited<ReturnType<typeof fetchServeStatus>>;
  try {
    got = await fetchServeStatus(config, url);
  } catch (err) {
    const msg = (err as Error).message;
    const down = /cannot reach|no web token/.test(msg);
    return {
      running: false,
      results: [
        {
          name: "ngb serve",
          status: down ? "warn" : "fail",
          detail: down ? "not running (checked this machine only)" : msg,
          fix: down ? "start it with `ngb serve` (or `ngb service start`)" : "see the message",
        },
      ],
    };
  }
  const { status } = got;
  const results: FixableResult[] = [
    {
      name: "ngb serve",
      status: "ok",
      detail: `running at ${got.url} (${status.version}, up ${status.uptimeSec}s)`,
    },
  ];
  for (const c of status.readiness?.components ?? []) {
    results.push({
      name: `serve: ${c.name}`,
      status: c.status === "ok" ? "ok" : c.status === "degraded" ? "fail" : "warn",
      detail: c.detail,
      fix: c.fix,
    });
  }
  const recent = status.recentErrors.slice(-3);
  if (recent.length > 0)
    results.push({
      name: "serve: recent errors",
      status: "warn",
      detail: recent
        .map((e) => `${e.source}: ${e.message}`)
        .join(" | ")
        .slice(0, 300),
      fix: "see the serve log (or the dashboard overview)",
    });
  return { running: true, results };
}

/** Repairs for what doctor can fix itself, attached to the failed checks they address. */
export async function attachRepairs(config: Config, results: FixableResult[]): Promise<void> {
  const image = results.find((r) => r.name === "agent image");
  if (image && image.status !== "ok" && !/engine/.test(image.detail)) {
    image.repair = async () => {
      const { buildAgentImage } = await import("../image/index.ts");
      const { createProgress } = await import("./progress.ts");
      const progress = createProgress();
      const r = await buildAgentImage({
        runtime: config.container.runtime,
        image: config.container.image,
        dataDir: config.dataDir,
        onProgress: (l) => progress.status(l),
        log: (l) => progress.status(l),
      }).finally(() => progress.clear());
      return `built ${r.image} in ${(r.totalMs / 1000).toFixed(0)} s`;
    };
  }
  const { seedGroupMemory } = await import("../image/index.ts");
  const missing = ["global/CLAUDE.md", "main/CLAUDE.md"].filter(
    (f) => !existsSync(join(config.groupsDir, f)),
  );
  if (missing.length > 0)
    results.push({
      name: "memory files",
      status: "warn",
      detail: `missing ${missing.map((f) => join(config.groupsDir, f)).join(", ")}`,
      fix: "ngb doctor --fix writes the defaults",
      repair: async () => `wrote ${seedGroupMemory(config.groupsDir).join(", ") || "nothing"}`,
    });
  const dotenv = resolve(".env");
  if (existsSync(dotenv) && (statSync(dotenv).mode & 0o077) !== 0) {
    const { chmodSync } = await import("node:fs");
    results.push({
      name: ".env",
      status: "fail",
      detail: `${dotenv} holds secrets but others can read it (mode ${(statSync(dotenv).mode & 0o777).toString(8)})`,
      fix: `chmod 600 ${dotenv} (ngb doctor --fix does it)`,
      repair: async () => {
        chmodSync(dotenv, 0o600);
        return `${dotenv} is now mode 600`;
      },
    });
  }
}
