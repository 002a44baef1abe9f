import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { type Answer, scripted } from "../../test/fakes/scripted-cli.ts";
import { Config } from "../config/index.ts";
import { silentLogger } from "../log/index.ts";
import { formatFrame } from "../protocol/index.ts";
import type { RegisteredGroup } from "../store/index.ts";
import { hostDirs } from "./args.ts";
import { createAgentRunner } from "./index.ts";
import { agentPod, kubeEngine, quantity } from "./kube-engine.ts";
import type { AgentRunResult } from "./types.ts";
import { volumeNames } from "./volumes.ts";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ngb-kube-"));
  mkdirSync(join(root, "groups", "fam"), { recursive: true });
  writeFileSync(join(root, "groups", "fam", "CLAUDE.md"), "# fam\n");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const config = (k: Record<string, unknown> = {}) =>
  v.parse(Config, {
    container: {
      runtime: "kubernetes",
      image: "registry.example/ngb-agent:1",
      kubernetes: { namespace: "bots", ...k },
    },
  });

const group = (folder = "fam", isMain = false): RegisteredGroup => ({
  jid: `web:${folder}`,
  name: folder,
  folder,
  triggerPattern: null,
  requiresTrigger: false,
  isMain,
  containerConfig: null,
  addedAt: 0,
});

type Pod = {
  spec: {
    automountServiceAccountToken: boolean;
    securityContext: Record<string, unknown>;
    containers: {
      securityContext: Record<string, unknown>;
      resources: unknown;
      volumeMounts: unknown[];
      env: unknown[];
    }[];
    volumes: Record<string, unknown>[];
  };
};

test("the agent pod: non-root, read-only root, no token, no host path, claims for folder and session", () => {
  const c = config().container;
  for (const isMain of [false, true]) {
    const pod = agentPod({
      name: "ngb-fam-1",
      group: group("fam", isMain),
      container: c,
      dirs: hostDirs({ groupsDir: "/srv/g", dataDir: "/srv/d" }, "fam"),
      instanceId: "inst",
      volumes: volumeNames("inst", "fam"),
      proxyToken: false,
      extraMounts: [],
    }) as unknown as Pod;
    expect(JSON.stringify(pod)).not.toContain("/srv/");
    expect(JSON.stringify(pod)).not.toContain("hostPath");
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
    const ctr = pod.spec.containers[0]!;
    expect(ctr.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(ctr.resources).toEqual({
      limits: { memory: "1Gi", cpu: "1" },
      requests: { memory: "1Gi", cpu: "1" },
    });
    const claims = pod.spec.volumes.flatMap((x) =>
      x.persistentVolumeClaim ? [(x.persistentVolumeClaim as { claimName: string }).claimName] : [],
    );
    expect(claims).toEqual([
      "ngb-inst-fam-group",
      "ngb-inst-fam-session",
      "ngb-inst-global",
      ...(isMain ? ["ngb-inst-groups"] : []),
    ]);
    expect(ctr.env).toContainEqual({ name: "NGB_PROXY_TRANSPORT", value: "stdio" });
  }
  expect(quantity("512m")).toBe("512Mi");
  expect(quantity("2g")).toBe("2Gi");
});

/** A scripted kubectl: PVC applies, sync helper pods, and the agent pod (a live process). */
function cluster(opts: { agent?: (cmd: string[]) => Answer | "live"; apply?: () => Answer } = {}) {
  const sub = (cmd: string[]) => cmd[cmd.indexOf("bots") + 1];
  const isAgent = (cmd: string[]) =>
    sub(cmd) === "run" && (cmd[cmd.indexOf("run") + 1] ?? "").startsWith("ngb-fam-");
  return scripted(
    (cmd, stdin) => {
      if (sub(cmd) === "apply") {
        if (opts.apply) return opts.apply();
        const items = (JSON.parse(stdin).items ?? [JSON.parse(stdin)]) as {
          kind: string;
          metadata: { name: string };
        }[];
        return {
          code: 0,
          stdout: items.map((i) => `${i.kind.toLowerCase()}/${i.metadata.name} created\n`).join(""),
        };
      }
      if (isAgent(cmd)) return opts.agent?.(cmd) === "live" ? { code: 0 } : (opts.agent?.(cmd) as Answer);
      if (sub(cmd) === "run")
        return {
          code: 0,
          stdout: cmd.some((a) => a.includes("NGB_SYNC_MODE")) && stdin === "" ? "[]" : "ok\n",
        };
      return { code: 0, stdout: "" };
    },
    (cmd) => {
      if (!isAgent(cmd)) return undefined;
      const answer = opts.agent?.(cmd);
      if (answer && answer !== "live")
        // kubectl failing before the pod ran: its error on stderr, then its exit code.
        return {
          onStdin(_chunk, io) {
            io.err(answer.stderr ?? "");
            setTimeout(() => io.exit(answer.code), 5);
          },
        };
      return answer === "live"
        ? {
            onStdin(chunk, io) {
              for (const line of chunk.split("\n").filter(Boolean)) {
                const frame = JSON.parse(line) as {
                  type: string;
                  input?: { proxyToken?: string; inputId: string };
                };
                if (frame.type !== "start") continue;
                io.out(
                  formatFrame({
                    type: "result",
                    status: "success",
                    result: `token ${frame.input?.proxyToken ? "in start frame" : "missing"}`,
                    consumed: [frame.input?.inputId ?? ""],
                  }),
                );
                setTimeout(() => io.exit(0), 5);
              }
            },
          }
        : undefined;
    },
  );
}

async function runOnce(k: ReturnType<typeof cluster>, folder = "fam") {
  const runner = createAgentRunner({
    config: config(),
    log: silentLogger(),
    paths: { groupsDir: join(root, "groups"), dataDir: join(root, "data") },
    proxy: { socketPath: join(root, "p.sock"), issue: () => "tok-secret-1", revoke: () => {} },
    instanceId: "inst",
    spawn: k.spawn,
    env: {},
  });
  const results: string[] = [];
  const proc = await runner.start({
    group: group(folder),
    input: {
      prompt: "hi",
      inputId: "i0",
      groupFolder: folder,
      chatJid: `web:${folder}`,
      isMain: false,
      assistantName: "Andy",
    },
    onResult: async (f) => void results.push(f.result ?? ""),
    onRequest: async () => ({ ok: true, text: "" }),
  });
  const result: AgentRunResult = await proc.done;
  return { runner, result, results };
}

test("a run is one attached pod: claims applied, memory synced in and out, the token never in the pod spec", async () => {
  const k = cluster({ agent: () => "live" });
  const { result, results } = await runOnce(k);
  expect(result.status).toBe("success");
  expect(results).toEqual(["token in start frame"]);
  const cmds = k.calls.map((c) => c.cmd);
  const applied = k.calls.find((c) => c.cmd.includes("apply"))!;
  const claims = JSON.parse(applied.stdin).items as {
    metadata: { name: string; labels: Record<string, string> };
  }[];
  expect(claims.map((c) => c.metadata.name)).toEqual([
    "ngb-inst-fam-group",
    "ngb-inst-fam-session",
    "ngb-inst-global",
  ]);
  expect(claims[0]!.metadata.labels).toMatchObject({
    "ngb.managed": "true",
    "ngb.instance": "inst",
    "ngb.group": "fam",
  });
  const agent = cmds.find((c) => (c[c.indexOf("run") + 1] ?? "").startsWith("ngb-fam-"))!;
  expect(agent.slice(0, 3)).toEqual(["kubectl", "--namespace", "bots"]);
  expect(agent).toContain("--stdin");
  expect(agent).toContain("--rm");
  expect(agent).toContain("--pod-running-timeout=120s");
  expect(agent.join(" ")).not.toContain("tok-secret-1");
  expect(agent.join(" ")).not.toContain(root);
  // Sync helpers: the host's CLAUDE.md pushed in before, the volume read after.
  const helpers = k.calls.filter((c) => (c.cmd[c.cmd.indexOf("run") + 1] ?? "").startsWith("ngb-sync-"));
  expect(helpers.some((h) => h.stdin.includes(Buffer.from("# fam\n").toString("base64")))).toBe(true);
  expect(helpers.at(-1)!.cmd.join(" ")).toContain('"NGB_SYNC_MODE","value":"get"');
});

test("a pod stuck Pending: one clear setup error, and the pod is deleted", async () => {
  const k = cluster({ agent: () => ({ code: 1, stderr: "error: timed out waiting for the condition\n" }) });
  const { result } = await runOnce(k);
  expect(result).toMatchObject({ status: "error", failure: "setup" });
  expect(result.error).toContain("did not start within 120 s");
  expect(k.calls.some((c) => c.cmd.includes("delete") && c.cmd.some((a) => a.startsWith("ngb-fam-")))).toBe(
    true,
  );
});

test("a cluster that refuses the pod (quota, policy) is a setup error naming the reason", async () => {
  const k = cluster({
    agent: () => ({
      code: 1,
      stderr:
        'Error from server (Forbidden): pods "ngb-fam-1" is forbidden: exceeded quota: agents, requested: memory=1Gi\n',
    }),
  });
  const { result } = await runOnce(k);
  expect(result.failure).toBe("setup");
  expect(result.error).toContain("the cluster refused the agent pod");
  expect(result.error).toContain("exceeded quota");
});

test("an API server that cannot be reached is an engine failure (the orchestrator waits and retries)", async () => {
  const k = cluster({
    apply: () => ({
      code: 1,
      stderr: "Unable to connect to the server: dial tcp 10.0.0.1:6443: connect: connection refused\n",
    }),
  });
  const { runner, result } = await runOnce(k);
  expect(result.failure).toBe("engine");
  expect(runner.engine().ok).toBe(false);
});

test("the agent's own failure is not mistaken for kubectl's (its stderr may say anything)", () => {
  const e = kubeEngine(config().container);
  // What kubectl 1.32 prints when the API server is down (seen on this machine).
  const down =
    'E1130 12:56:37.454647   15932 memcache.go:265] "Unhandled Error" err="couldn\'t get current server API group list: Get \\"http://localhost:8080/api?timeout=32s\\": dial tcp 127.0.0.1:8080: connect: connection refused"\nThe connection to the server localhost:8080 was refused - did you specify the right host or port?\n';
  expect(e.isEngineFailure(down)).toBe(true);
  expect(e.describeFailure(1, down, "img")).toContain("kubernetes API not reachable");
  expect(e.describeFailure(1, "[agent-runner] error connection refused by something\n", "img")).toBeNull();
  expect(e.isEngineFailure("[agent-runner] Unable to connect to the server, says the agent")).toBe(false);
});

test("start-up: the deny-all network policy is applied and orphaned pods of this installation deleted", async () => {
  const k = scripted((cmd, stdin) => {
    if (cmd.includes("get")) return { code: 0, stdout: "pod/ngb-fam-ab12\npod/ngb-sync-cd34\n" };
    if (cmd.includes("apply"))
      return { code: 0, stdout: `networkpolicy/${JSON.parse(stdin).metadata.name} created` };
    return { code: 0 };
  });
  const runner = createAgentRunner({
    config: config(),
    log: silentLogger(),
    paths: { groupsDir: join(root, "groups"), dataDir: join(root, "data") },
    proxy: { socketPath: join(root, "p.sock"), issue: () => "t", revoke: () => {} },
    instanceId: "inst",
    spawn: k.spawn,
    env: {},
  });
  expect(await runner.cleanupOrphans()).toBe(2);
  const get = k.calls.find((c) => c.cmd.includes("get"))!.cmd;
  expect(get).toContain("ngb.managed=true,ngb.instance=inst");
  const policy = JSON.parse(k.calls.find((c) => c.cmd.includes("apply"))!.stdin);
  expect(policy).toMatchObject({
    kind: "NetworkPolicy",
    spec: { podSelector: { matchLabels: { "ngb.managed": "true" } }, policyTypes: ["Ingress", "Egress"] },
  });
  expect(policy.spec.ingress).toBeUndefined();
  expect(policy.spec.egress).toBeUndefined();
  const del = k.calls.find((c) => c.cmd.includes("delete"))!.cmd;
  expect(del).toEqual(expect.arrayContaining(["pod", "ngb-fam-ab12", "ngb-sync-cd34", "--ignore-not-found"]));
});

/**
 * The real kubectl (when installed) accepts the command line and turns the overrides into the
 * pod we mean: a client-side dry run against a fake API server that answers only discovery.
 */
test.skipIf(!Bun.which("kubectl"))(
  "kubectl itself builds the intended pods from our command lines",
  async () => {
    const api = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const p = new URL(req.url).pathname;
        if (p === "/api")
          return Response.json({
            kind: "APIVersions",
            versions: ["v1"],
            serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1" }],
          });
        if (p === "/apis") return Response.json({ kind: "APIGroupList", apiVersion: "v1", groups: [] });
        if (p === "/api/v1")
          return Response.json({
            kind: "APIResourceList",
            groupVersion: "v1",
            resources: [
              {
                name: "pods",
                singularName: "pod",
                namespaced: true,
                kind: "Pod",
                verbs: ["create", "delete", "get"],
              },
            ],
          });
        return new Response("{}", { status: 404 });
      },
    });
    try {
      const c = config().container;
      const e = kubeEngine(c);
      const dryRun = async (args: string[]) => {
        const cmd = [
          "kubectl",
          "--server",
          `http://127.0.0.1:${api.port}`,
          ...args.filter((a) => !["--stdin", "--rm", "--quiet"].includes(a)),
          "--dry-run=client",
          "--output=json",
        ];
        const p = Bun.spawn(cmd, {
          stdout: "pipe",
          stderr: "pipe",
          env: { PATH: process.env.PATH, HOME: root },
        });
        const [out, err, code] = await Promise.all([
          new Response(p.stdout).text(),
          new Response(p.stderr).text(),
          p.exited,
        ]);
        if (code !== 0) throw new Error(`kubectl failed: ${err}`);
        return JSON.parse(out) as Pod & {
          metadata: { name: string; namespace: string; labels: Record<string, string> };
        };
      };
      const agent = await dryRun(
        e.runArgs({
          name: "ngb-fam-ab12",
          group: group("fam", true),
          container: c,
          dirs: hostDirs({ groupsDir: "/g", dataDir: "/d" }, "fam"),
          instanceId: "inst",
          volumes: volumeNames("inst", "fam"),
          proxyToken: false,
          extraMounts: [],
        }),
      );
      expect(agent.metadata).toMatchObject({
        name: "ngb-fam-ab12",
        namespace: "bots",
        labels: { "ngb.managed": "true", "ngb.instance": "inst", "ngb.group": "fam" },
      });
      expect(agent.spec.containers).toHaveLength(1);
      expect(agent.spec.containers[0]).toMatchObject({
        name: "ngb-fam-ab12",
        image: "registry.example/ngb-agent:1",
        stdin: true,
        stdinOnce: true,
        securityContext: {
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          runAsNonRoot: true,
        },
      });
      expect(agent.spec.automountServiceAccountToken).toBe(false);
      expect(agent.spec.volumes.map((x) => x.name)).toEqual([
        "group",
        "session",
        "global",
        "groups",
        "tmp",
        "home",
      ]);
      const helper = await dryRun(
        e.volumes.helperArgs({
          volume: "ngb-inst-fam-group",
          target: "/workspace/group",
          mode: "get",
          user: "10001:10001",
          image: c.image,
          instanceId: "inst",
          script: "1",
        }),
      );
      expect(helper.spec.containers[0]).toMatchObject({ command: ["bun", "-e", "1"], stdin: true });
      expect(helper.spec.volumes).toEqual([
        { name: "v", persistentVolumeClaim: { claimName: "ngb-inst-fam-group", readOnly: true } },
      ]);
    } finally {
      api.stop(true);
    }
  },
);
