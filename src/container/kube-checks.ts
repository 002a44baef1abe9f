/**
 * `ngb doctor` for `container.runtime: "kubernetes"`: kubectl is there, the API server answers,
 * the namespace exists and this identity may create pods, volume claims and network policies
 * in it. Each check is one line with a fix.
 */
import type { ContainerConfig } from "../config/index.ts";

export interface KubeCheck {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  fix?: string;
}

export type CheckRun = (cmd: string[]) => Promise<{ code: number; out: string; err: string }>;

/** Runs a short command with a deadline; never throws. */
export const defaultCheckRun: CheckRun = async (cmd) => {
  try {
    const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const timer = setTimeout(() => p.kill(), 15_000);
    const [out, err, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    clearTimeout(timer);
    return { code, out: out.trim(), err: err.trim() };
  } catch (err) {
    return { code: -1, out: "", err: (err as Error).message };
  }
};

export async function kubeChecks(
  c: Pick<ContainerConfig, "kubernetes" | "image">,
  run: CheckRun = defaultCheckRun,
  which: (bin: string) => string | null = (bin) => Bun.which(bin),
): Promise<KubeCheck[]> {
  const k = c.kubernetes;
  const found = which(k.kubectl);
  if (!found)
    return [
      {
        name: "kubectl",
        status: "fail",
        detail: `"${k.kubectl}" not found on PATH`,
        fix: "install kubectl (or set container.kubernetes.kubectl to its path)",
      },
    ];
  const out: KubeCheck[] = [{ name: "kubectl", status: "ok", detail: found }];
  const base = [k.kubectl, ...(k.context ? ["--context", k.context] : []), "--namespace", k.namespace];
  const version = await run([...base, "get", "--raw", "/version"]);
  if (version.code !== 0) {
    out.push({
      name: "kubernetes API",
      status: "fail",
      detail: (version.err.split("\n")[0] ?? "").slice(0, 200) || "not reachable",
      fix: "check the kubeconfig (KUBECONFIG, container.kubernetes.context) and that the cluster is up",
    });
    return out;
  }
  let server = "";
  try {
    server = (JSON.parse(version.out) as { gitVersion?: string }).gitVersion ?? "";
  } catch {
    // an unexpected answer still means reachable
  }
  out.push({ name: "kubernetes API", status: "ok", detail: `server ${server || "answered"}` });
  const ns = await run([...base, "get", "namespace", k.namespace, "--output", "name"]);
  if (ns.code !== 0) {
    out.push({
      name: "agent namespace",
      status: "fail",
      detail: `namespace ${k.namespace} not found`,
      fix: `kubectl create namespace ${k.namespace} (or set container.kubernetes.namespace)`,
    });
    return out;
  }
  const missing: string[] = [];
  for (const [verb, resource] of [
    ["create", "pods"],
    ["create", "pods/attach"],
    ["delete", "pods"],
    ["create", "persistentvolumeclaims"],
    ["create", "networkpolicies.networking.k8s.io"],
  ] as const) {
    const r = await run([...base, "auth", "can-i", verb, resource]);
    if (r.out.trim() !== "yes") missing.push(`${verb} ${resource}`);
  }
  out.push(
    missing.length === 0
      ? { name: "agent namespace", status: "ok", detail: `${k.namespace}: may run agent pods` }
      : {
          name: "agent namespace",
          status: "fail",
          detail: `${k.namespace}: not allowed to ${missing.join(", ")}`,
          fix: "grant this identity a Role for pods, pods/attach, persistentvolumeclaims and networkpolicies in the namespace",
        },
  );
  out.push({
    name: "agent image",
    status: "warn",
    detail: `${c.image} must be pullable by the cluster's nodes (not checked from here)`,
    fix: "push it to a registry the nodes can reach (kind: kind load docker-image)",
  });
  return out;
}
