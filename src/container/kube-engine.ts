/**
 * Kubernetes as the engine (`container.runtime: "kubernetes"`), through `kubectl` (so the
 * kubeconfig, its contexts and auth plugins apply; no client library). Each agent run is one pod
 * `kubectl run -i --rm` with its stdio attached (the API server's attach protocol), in the
 * configured namespace, labelled like docker containers so orphans are found by label:
 *
 * - non-root (uid/gid 10001, fsGroup), read-only root filesystem, no privilege escalation, all
 *   capabilities dropped, RuntimeDefault seccomp, no service account token, no service links;
 * - memory and CPU limits from `container.memory`/`cpus`; /tmp and HOME are memory emptyDirs;
 * - the group folder and the session are PersistentVolumeClaims (`ngb-<instance>-<folder>-group`,
 *   `…-session`), the global memory and main's view of the groups shared claims; memory files
 *   are synced with short helper pods (volumes.ts), exactly like volumes on a docker engine;
 * - a deny-all NetworkPolicy for every pod labelled `ngb.managed=true`, applied at start-up:
 *   model traffic goes over the attached stdio to the host's credential proxy.
 *
 * Kubernetes places the pods; a pod that stays Pending past `podStartTimeoutMs` (no node fits, a
 * quota, an unbound claim) fails the run with one clear error, and the pod is deleted.
 */
import type { ContainerConfig } from "../config/index.ts";
import { CONTAINER_PATHS } from "../protocol/index.ts";
import { randomHex } from "../util/crypto.ts";
import { AGENT_UID, LABELS, type RunArgsOptions } from "./args.ts";
import type { Engine } from "./engine.ts";
import type { VolumeBackend } from "./volumes.ts";

type KubeConfig = ContainerConfig["kubernetes"];

const KUBE_DOWN =
  /unable to connect to the server|connection to the server .* was refused|couldn't get current server API group list|connection refused|no such host|i\/o timeout|tls handshake timeout|the server is currently unable|dial tcp|connection reset by peer|http2: client connection lost/i;

/** docker-style sizes ("512m", "1g") as Kubernetes quantities ("512Mi", "1Gi"). */
export function quantity(size: string): string {
  const m = /^(\d+)([kmgt]?)b?$/i.exec(size.trim());
  if (!m) return size;
  const unit = { "": "", k: "Ki", m: "Mi", g: "Gi", t: "Ti" }[(m[2] ?? "").toLowerCase()] ?? "";
  return `${m[1]}${unit}`;
}

function labelsOf(instanceId: string, folder?: string): Record<string, string> {
  return {
    [LABELS.managed]: "true",
    [LABELS.instance]: instanceId,
    ...(folder ? { [LABELS.group]: folder } : {}),
  };
}

const podSecurity = {
  runAsNonRoot: true,
  runAsUser: AGENT_UID,
  runAsGroup: AGENT_UID,
  fsGroup: AGENT_UID,
  seccompProfile: { type: "RuntimeDefault" },
};
const containerSecurity = {
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

/** The pod (as `kubectl run --overrides`) of one agent run. Exported for tests. */
export function agentPod(o: RunArgsOptions): Record<string, unknown> {
  const vols = o.volumes;
  if (!vols) throw new Error("kubernetes runs need the group's volume claims");
  if (o.extraMounts.length > 0) throw new Error("extra mounts are not available on kubernetes");
  const c = o.container;
  const g = o.group.containerConfig ?? {};
  const claim = (name: string, claimName: string, readOnly = false) => ({
    volume: { name, persistentVolumeClaim: { claimName, readOnly } },
    mount: { name, mountPath: "", readOnly },
  });
  const mounts: { name: string; mountPath: string; readOnly?: boolean }[] = [];
  const volumes: Record<string, unknown>[] = [];
  const add = (v: ReturnType<typeof claim>, path: string) => {
    volumes.push(v.volume);
    mounts.push({ ...v.mount, mountPath: path });
  };
  add(claim("group", vols.group), CONTAINER_PATHS.group);
  add(claim("session", vols.session), CONTAINER_PATHS.claudeHome);
  add(claim("global", vols.global, true), CONTAINER_PATHS.global);
  if (o.group.isMain) add(claim("groups", vols.groups, true), CONTAINER_PATHS.groups);
  volumes.push(
    { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: quantity(c.tmpSize) } },
    { name: "home", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
  );
  mounts.push({ name: "tmp", mountPath: "/tmp" }, { name: "home", mountPath: "/home/agent" });
  const memory = quantity(g.memory ?? c.memory);
  const cpu = g.cpus ?? c.cpus;
  return {
    apiVersion: "v1",
    metadata: { labels: labelsOf(o.instanceId, o.group.folder) },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 10,
      securityContext: podSecurity,
      containers: [
        {
          name: o.name,
          image: c.image,
          stdin: true,
          stdinOnce: true,
          tty: false,
          env: [{ name: "NGB_PROXY_TRANSPORT", value: "stdio" }],
          resources: { limits: { memory, cpu }, requests: { memory, cpu } },
          securityContext: containerSecurity,
          volumeMounts: mounts,
        },
      ],
      volumes,
    },
  };
}

export function kubeEngine(c: Pick<ContainerConfig, "kubernetes">): Engine {
  const k: KubeConfig = c.kubernetes;
  const base = [...(k.context ? ["--context", k.context] : []), "--namespace", k.namespace];
  const startTimeout = `--pod-running-timeout=${Math.ceil(k.podStartTimeoutMs / 1000)}s`;
  const runPod = (name: string, image: string, labels: Record<string, string>, pod: unknown) => [
    ...base,
    "run",
    name,
    `--image=${image}`,
    "--restart=Never",
    "--stdin",
    "--rm",
    "--quiet",
    startTimeout,
    `--labels=${Object.entries(labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(",")}`,
    `--overrides=${JSON.stringify(pod)}`,
  ];

  const volumes: VolumeBackend = {
    async ensure(run, wanted, instanceId) {
      const claims = wanted.map(({ name, folder }) => ({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name, labels: labelsOf(instanceId, folder) },
        spec: {
          accessModes: [folder ? "ReadWriteOnce" : k.sharedAccessMode],
          resources: { requests: { storage: k.volumeSize } },
          ...(k.storageClass ? { storageClassName: k.storageClass } : {}),
        },
      }));
      const out = await run(
        [...base, "apply", "-f", "-"],
        JSON.stringify({ apiVersion: "v1", kind: "List", items: claims }),
        30_000,
      );
      return [...out.matchAll(/persistentvolumeclaim\/(\S+) created/g)].map((m) => m[1] as string);
    },
    helperArgs(h) {
      const name = `ngb-sync-${randomHex(4)}`;
      const readOnly = h.mode === "get";
      const pod = {
        apiVersion: "v1",
        metadata: { labels: labelsOf(h.instanceId) },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurity,
          containers: [
            {
              name,
              image: h.image,
              command: ["bun", "-e", h.script],
              stdin: true,
              stdinOnce: true,
              env: [
                { name: "NGB_SYNC_ROOT", value: h.target },
                { name: "NGB_SYNC_MODE", value: h.mode },
              ],
              resources: { limits: { memory: "256Mi", cpu: "500m" } },
              securityContext: containerSecurity,
              volumeMounts: [{ name: "v", mountPath: h.target, readOnly }],
            },
          ],
          volumes: [{ name: "v", persistentVolumeClaim: { claimName: h.volume, readOnly } }],
        },
      };
      return runPod(name, h.image, labelsOf(h.instanceId), pod);
    },
  };

  return {
    bin: k.kubectl,
    stdioOnly: true,
    tokenInStart: true,
    runArgs: (o) => runPod(o.name, o.container.image, labelsOf(o.instanceId, o.group.folder), agentPod(o)),
    removeArgs: (names) => [
      ...base,
      "delete",
      "pod",
      ...names,
      "--grace-period=0",
      "--force",
      "--ignore-not-found",
      "--wait=false",
    ],
    isGone: (stderr) => /not ?found/i.test(stderr),
    probeArgs: () => [...base, "get", "--raw", "/version"],
    listArgs: (instanceId) => [
      ...base,
      "get",
      "pods",
      "--selector",
      `${LABELS.managed}=true,${LABELS.instance}=${instanceId}`,
      "--output",
      "name",
    ],
    parseList: (stdout) =>
      stdout
        .split("\n")
        .map((s) => s.trim().replace(/^pods?\//, ""))
        .filter(Boolean),
    isEngineFailure: (stderr) => kubectlErrors(stderr).some((l) => KUBE_DOWN.test(l)),
    describeFailure(code, stderr, image) {
      if (code === 0) return null;
      const errors = kubectlErrors(stderr);
      const line = errors[0];
      if (!line) return null; // the agent itself failed (its stderr, not kubectl's)
      if (errors.some((l) => KUBE_DOWN.test(l)))
        return `kubernetes API not reachable: ${line.slice(0, 300)}, run ngb doctor`;
      if (/timed out waiting for the condition|timed out waiting for .*running/i.test(line))
        return `the agent pod did not start within ${Math.round(k.podStartTimeoutMs / 1000)} s (stuck Pending: no node fits its requests, a quota, an unbound volume claim, or the image ${image} cannot be pulled); see kubectl -n ${k.namespace} get events`;
      if (/ErrImagePull|ImagePullBackOff|InvalidImageName/i.test(line))
        return `image ${image} cannot be pulled by the cluster: push it to a registry the nodes can reach`;
      if (/forbidden|exceeded quota|denied the request|violates podsecurity|admission webhook/i.test(line))
        return `the cluster refused the agent pod: ${line.slice(0, 300)}`;
      return `kubectl run failed: ${line.slice(0, 300)}`;
    },
    volumes,
    async setup(exec) {
      const policy = {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "ngb-agents-deny-all", labels: { [LABELS.managed]: "true" } },
        spec: {
          podSelector: { matchLabels: { [LABELS.managed]: "true" } },
          policyTypes: ["Ingress", "Egress"],
        },
      };
      const r = await exec([...base, "apply", "-f", "-"], JSON.stringify(policy));
      if (r.code !== 0)
        throw new Error(`cannot apply the agents' deny-all network policy: ${r.stderr.trim().slice(0, 300)}`);
    },
  };
}

/** kubectl's own error lines (the agent's stderr arrives on the same stream, never matched). */
function kubectlErrors(stderr: string): string[] {
  return stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(
      (l) =>
        /^(error:|Error from server|Unable to connect to the server|The connection to the server|error when)/i.test(
          l,
        ) || /^[EF]\d{4} \d\d:\d\d:\d\d/.test(l), // klog's error and fatal lines
    );
}
