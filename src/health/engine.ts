/**
 * The container engine and the agent image, checked the same way by `ngb setup`, `ngb doctor`
 * and serve's readiness. Each check answers one line and, when something is wrong, the fix.
 */
import type { Config } from "../config/index.ts";
import { agentImageStatus, defaultRun, type RunFn } from "../image/index.ts";

export interface ComponentCheck {
  status: "ok" | "warn" | "fail";
  detail: string;
  fix?: string;
}

/** How to get an engine, by platform. */
export function engineInstallHint(runtime: string): string {
  if (runtime === "podman") return "install podman (apt-get install podman / brew install podman)";
  if (process.platform === "darwin")
    return "install Docker Desktop (or OrbStack / colima) and start it, or set container.runtime to podman";
  return "install Docker (apt-get install docker.io, or Docker Engine from docs.docker.com) and start it, or set container.runtime to podman";
}

export async function checkEngine(
  config: Pick<Config, "container">,
  run: RunFn = defaultRun,
  which: (bin: string) => string | null = (bin) => Bun.which(bin),
): Promise<ComponentCheck> {
  const bin = config.container.runtime;
  if (bin === "kubernetes") {
    // The cluster is the engine: kubectl, the API server, the namespace, the rights.
    const { kubeChecks } = await import("../container/kube-checks.ts");
    const checks = await kubeChecks(config.container as Parameters<typeof kubeChecks>[0]);
    const bad = checks.find((c) => c.status === "fail") ?? checks.find((c) => c.status === "warn");
    return bad
      ? { status: bad.status, detail: `${bad.name}: ${bad.detail}`, fix: bad.fix }
      : { status: "ok", detail: `kubernetes cluster (${checks.map((c) => c.name).join(", ")} ok)` };
  }
  if (!which(bin))
    return { status: "fail", detail: `"${bin}" is not installed (not on PATH)`, fix: engineInstallHint(bin) };
  const res = await run([bin, "version", "--format", "{{.Server.Version}}"]).catch((err: Error) => ({
    code: -1,
    stdout: "",
    stderr: err.message,
  }));
  const version = res.stdout.trim();
  if (res.code !== 0 || !version) {
    const why = (res.stderr.trim().split("\n").at(-1) ?? "").slice(0, 160) || "no answer";
    return {
      status: "fail",
      detail: `${bin} is installed but its engine does not answer (${why})`,
      fix:
        bin === "podman"
          ? "start it (podman machine start / systemctl --user start podman.socket)"
          : "start it (systemctl start docker, or open Docker Desktop), or set DOCKER_HOST to a running engine",
    };
  }
  return { status: "ok", detail: `${bin} engine ${version}` };
}

export async function checkImage(
  config: Pick<Config, "container" | "dataDir">,
  run: RunFn = defaultRun,
): Promise<ComponentCheck> {
  const image = config.container.image;
  if (config.container.runtime === "kubernetes")
    return { status: "ok", detail: `${image} (pulled by the cluster's nodes; not checked here)` };
  const s = await agentImageStatus({
    runtime: config.container.runtime,
    image,
    dataDir: config.dataDir,
    run,
  }).catch(() => ({ exists: false, upToDate: undefined, id: undefined }));
  if (!s.exists)
    return {
      status: "fail",
      detail: `agent image ${image} is not built`,
      fix: `ngb image build${image === "ngb-agent:latest" ? "" : ` --image ${image}`}`,
    };
  if (s.upToDate === false)
    return {
      status: "warn",
      detail: `agent image ${image} (${s.id}) is older than this ngb's agent runner`,
      fix: `ngb image build${image === "ngb-agent:latest" ? "" : ` --image ${image}`}`,
    };
  return { status: "ok", detail: `agent image ${image} (${s.id})${s.upToDate ? ", current" : ""}` };
}
