/**
 * Agents on another engine (`container.transport: "stdio"`), for real: `ngb serve` talks to a
 * second Docker engine (NGB_TEST_REMOTE_DOCKER_HOST, e.g. a private dockerd with its own data
 * root and socket, started with scripts/engine.sh and NGB_ENGINE_DIR/NGB_ENGINE_DATA set) that
 * has the agent image loaded. Nothing of the host's file system reaches that engine: the model
 * traffic goes over the container's stdio, the group folder and session live in volumes there.
 *
 * A message answered, a follow-up to the warm agent, a memory file the agent writes synced back
 * to the host, a scheduled task, a crash (SIGKILL serve) and recovery — and `docker inspect` of
 * every agent container shows no bind mount. Skipped (saying why) without the second engine.
 *
 * With NGB_TEST_KUBE_NAMESPACE set, the same test runs on Kubernetes instead (CI creates a
 * throwaway kind cluster with the image loaded): agents are pods, volumes are claims, and no
 * pod has a hostPath volume.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { instanceIdOf } from "../../src/runtime/instance.ts";
import { openStore } from "../../src/store/index.ts";
import { type FakeAnthropic, scripts, startFakeAnthropic } from "../fakes/anthropic.ts";
import type { ServeHandle } from "../support/ngb.ts";
import { until } from "../support/wait.ts";
import { chooseBinary, openWebChat, serveEnv, startServe, type WebChat } from "./serve-rig.ts";

const REMOTE = process.env.NGB_TEST_REMOTE_DOCKER_HOST ?? "";
/** Run the same test on Kubernetes (CI: a throwaway kind cluster with the image loaded). */
const KUBE_NS = process.env.NGB_TEST_KUBE_NAMESPACE ?? "";
const IMAGE = process.env.NGB_TEST_AGENT_IMAGE || "ngb-agent:latest";

const text = (r: { stdout: Uint8Array; stderr: Uint8Array }) =>
  new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);

function cli(cmd: string[], env: Record<string, string | undefined>): { code: number; out: string } {
  try {
    const r = Bun.spawnSync(cmd, { env });
    return { code: r.exitCode, out: text(r) };
  } catch (err) {
    return { code: -1, out: (err as Error).message };
  }
}
const docker = (args: string[]) => cli(["docker", ...args], { ...process.env, DOCKER_HOST: REMOTE });
const kubectl = (args: string[]) => cli(["kubectl", "--namespace", KUBE_NS, ...args], process.env);

/** What the test asks of the engine that runs the agents. */
interface EngineOps {
  ready: string | true;
  label: string;
  /** ngb's environment for this engine. */
  env: Record<string, string>;
  /** This installation's agents (not the sync helpers), any state. */
  agents(instance: string): string[];
  /** The agent's mounts: how many, and any that come from the host's file system. */
  mounts(name: string): { count: number; fromHost: string[] };
  /** A file in a group's volume, when the engine lets the test read it directly. */
  readVolume(volume: string, file: string): string | undefined;
  cleanup(instance: string): void;
}

const dockerOps: EngineOps = {
  ready:
    REMOTE === ""
      ? "NGB_TEST_REMOTE_DOCKER_HOST is not set"
      : docker(["image", "inspect", IMAGE]).code === 0 || `image ${IMAGE} not on ${REMOTE}`,
  label: `docker engine ${REMOTE}`,
  env: { DOCKER_HOST: REMOTE, NGB_CONTAINER_TRANSPORT: "stdio" },
  agents: (instance) =>
    docker(["ps", "-a", "--filter", `label=ngb.instance=${instance}`, "--format", "{{.Names}}"])
      .out.split("\n")
      .filter((n) => n.startsWith("ngb-") && !n.startsWith("ngb-sync-")),
  mounts(name) {
    const r = docker(["inspect", "--format", "{{json .Mounts}}", name]);
    const mounts = r.code === 0 ? (JSON.parse(r.out.trim()) as { Type: string; Source?: string }[]) : [];
    const binds = docker(["inspect", "--format", "{{json .HostConfig.Binds}}", name]).out.trim();
    return {
      count: mounts.length,
      fromHost: [
        ...mounts.filter((m) => m.Type !== "volume").map((m) => `${m.Type}:${m.Source}`),
        ...(binds === "null" || binds === "[]" || binds === "" ? [] : [binds]),
      ],
    };
  },
  readVolume(volume, file) {
    const r = docker([
      "run",
      "--rm",
      "--network",
      "none",
      "--mount",
      `type=volume,source=${volume},target=/v,readonly`,
      "--entrypoint",
      "cat",
      IMAGE,
      `/v/${file}`,
    ]);
    return r.out;
  },
  cleanup(instance) {
    const left = docker(["ps", "-aq", "--filter", `label=ngb.instance=${instance}`])
      .out.split("\n")
      .filter(Boolean);
    if (left.length) docker(["rm", "-f", ...left]);
    const vols = docker(["volume", "ls", "-q", "--filter", `label=ngb.instance=${instance}`])
      .out.split("\n")
      .filter(Boolean);
    if (vols.length) docker(["volume", "rm", "-f", ...vols]);
  },
};

const kubeOps: EngineOps = {
  ready: kubectl(["get", "pods"]).code === 0 || `kubectl cannot reach namespace ${KUBE_NS}`,
  label: `kubernetes namespace ${KUBE_NS}`,
  env: {
    NGB_CONTAINER_RUNTIME: "kubernetes",
    NGB_CONTAINER_KUBERNETES_NAMESPACE: KUBE_NS,
    ...(process.env.KUBECONFIG ? { KUBECONFIG: process.env.KUBECONFIG } : {}),
  },
  agents: (instance) =>
    kubectl(["get", "pods", "--selector", `ngb.instance=${instance}`, "--output", "name"])
      .out.split("\n")
      .map((n) => n.trim().replace(/^pod\//, ""))
      .filter((n) => n.startsWith("ngb-") && !n.startsWith("ngb-sync-")),
  mounts(name) {
    const r = kubectl(["get", "pod", name, "--output", "json"]);
    if (r.code !== 0) return { count: 0, fromHost: [] };
    const vols = (JSON.parse(r.out).spec?.volumes ?? []) as Record<string, unknown>[];
    return { count: vols.length, fromHost: vols.filter((v) => "hostPath" in v).map((v) => String(v.name)) };
  },
  readVolume: () => undefined,
  cleanup(instance) {
    kubectl([
      "delete",
      "pods,pvc",
      "--selector",
      `ngb.instance=${instance}`,
      "--wait=false",
      "--ignore-not-found",
    ]);
  },
};

const ops = KUBE_NS ? kubeOps : dockerOps;
const READY = ops.ready === true;
if (!READY) process.stderr.write(`[e2e remote] skipped: ${ops.ready}\n`);
else process.stderr.write(`[e2e remote] ngb: ${chooseBinary()} engine: ${ops.label} image: ${IMAGE}\n`);

/** This installation's agents. */
const agentContainers = (dir: string) => ops.agents(instanceIdOf({ dataDir: join(dir, "data") }));

describe.skipIf(!READY)("agents on a remote engine over stdio (no host path visible)", () => {
  let dir: string;
  let fake: FakeAnthropic;
  let serve: ServeHandle;
  let chat: WebChat;
  let hang = false;
  const inspected: string[] = [];
  let env: Record<string, string>;

  /** Every agent running now has only volumes of the engine, nothing from the host. */
  function assertNoHostPath() {
    for (const name of agentContainers(dir)) {
      const m = ops.mounts(name);
      if (m.count === 0) continue; // ended meanwhile
      inspected.push(name);
      expect(m.fromHost).toEqual([]);
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ngb-e2e-remote-"));
    fake = startFakeAnthropic({
      script: scripts.byPrompt(
        [
          { when: "plain question", script: scripts.text("the plain answer") },
          { when: "follow up", script: scripts.text("the follow-up answer") },
          {
            when: "write a note",
            script: scripts.toolThenText(
              "Write",
              { file_path: "/workspace/group/remote-note.md", content: "written on the remote engine\n" },
              "note written",
            ),
          },
          {
            when: "remind me",
            script: scripts.scheduleTaskThenText(
              { prompt: "remote reminder", schedule_type: "once", schedule_value: "in 3s" },
              "reminder scheduled",
            ),
          },
          { when: "remote reminder", script: scripts.text("reminder fired") },
          {
            when: "slow question",
            script: () => (hang ? { text: "too late", delayMs: 120_000 } : { text: "recovered answer" }),
          },
        ],
        scripts.text("fallback"),
      ),
    });
    env = serveEnv(dir, fake, {
      ...ops.env,
      NGB_CONTAINER_IMAGE: IMAGE,
      NGB_CONTAINER_IDLE_TIMEOUT_MS: "4000",
    });
    serve = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
    chat = await openWebChat(serve);
  }, 60_000);

  afterAll(async () => {
    chat?.close();
    await serve?.stop();
    await fake?.stop();
    if (dir) ops.cleanup(instanceIdOf({ dataDir: join(dir, "data") }));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const failWithLog = (err: Error) => {
    throw new Error(`${err.message}\nserve log tail:\n${serve.logs().slice(-5000)}`);
  };

  test("a message is answered, and a follow-up goes to the warm agent", async () => {
    expect((await chat.post("plain question")).status).toBe(201);
    await chat.reply("the plain answer").catch(failWithLog);
    // The model call went through the host's credential proxy with the real key.
    expect(fake.requests.at(-1)?.headers["x-api-key"]).toBe("sk-ant-dummy-e2e");
    assertNoHostPath();
    const running = agentContainers(dir);
    await chat.post("follow up");
    await chat.reply("the follow-up answer").catch(failWithLog);
    // Same container: the follow-up went over stdin to the warm agent.
    expect(agentContainers(dir)).toEqual(running);
    assertNoHostPath();
  }, 150_000);

  test("a memory file the agent writes in its volume is synced to the host's group folder", async () => {
    const hostFile = join(dir, "groups", "main", "remote-note.md");
    // A host edit of CLAUDE.md (the dashboard's copy) goes in when the next run starts: wait
    // until the warm agent of the last test has ended (idle timeout 4 s).
    await until(() => agentContainers(dir).length === 0, { what: "the warm agent ended", timeoutMs: 30_000 });
    writeFileSync(join(dir, "groups", "main", "CLAUDE.md"), "# edited on the host\n");
    await chat.post("write a note");
    await chat.reply("note written").catch(failWithLog);
    assertNoHostPath();
    // Synced out when the run ends (idle timeout 4 s).
    await until(() => existsSync(hostFile), { what: "the note on the host", timeoutMs: 30_000 }).catch(
      failWithLog,
    );
    expect(readFileSync(hostFile, "utf8")).toBe("written on the remote engine\n");
    expect(readFileSync(join(dir, "groups", "main", "CLAUDE.md"), "utf8")).toBe("# edited on the host\n");
    // …and the host's edit reached the agent's volume.
    const volume = `ngb-${instanceIdOf({ dataDir: join(dir, "data") })}-main-group`;
    const inVolume = ops.readVolume(volume, "CLAUDE.md");
    if (inVolume !== undefined) expect(inVolume).toBe("# edited on the host\n");
  }, 150_000);

  test("a scheduled task runs on the remote engine", async () => {
    await chat.post("remind me");
    await chat.reply("reminder scheduled").catch(failWithLog);
    await chat.reply("reminder fired", 90_000).catch(failWithLog);
    const store = openStore(join(dir, "store", "ngb.db"), { readonly: true });
    try {
      const task = await until(
        () => store.tasks.list().find((t) => t.prompt === "remote reminder" && t.status === "completed"),
        { what: "the task completed", timeoutMs: 15_000 },
      );
      expect(store.tasks.runs(task.id).map((r) => r.status)).toEqual(["success"]);
    } finally {
      store.close();
    }
  }, 180_000);

  test("SIGKILL mid-run, restart: the orphan on the remote engine is removed, the reply arrives once", async () => {
    hang = true;
    const before = fake.requests.length;
    await chat.post("slow question");
    await fake.waitForRequests(before + 1, 60_000);
    const orphans = agentContainers(dir);
    expect(orphans.length).toBeGreaterThan(0);
    assertNoHostPath();
    chat.close();
    expect(await serve.stop("SIGKILL")).not.toBe(0);
    hang = false;
    serve = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
    chat = await openWebChat(serve);
    await until(
      async () => (await chat.history()).some((m) => m.from === "assistant" && m.text === "recovered answer"),
      { what: "the recovered reply", timeoutMs: 90_000, intervalMs: 200 },
    ).catch(failWithLog);
    expect(serve.logs()).toContain("removed orphaned");
    for (const name of orphans) expect(agentContainers(dir)).not.toContain(name);
    const answers = (await chat.history()).filter((m) => m.text === "recovered answer");
    expect(answers).toHaveLength(1);
    assertNoHostPath();
    expect(inspected.length).toBeGreaterThan(0);
  }, 240_000);
});
