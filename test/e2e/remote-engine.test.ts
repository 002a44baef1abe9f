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
const IMAGE = process.env.NGB_TEST_AGENT_IMAGE || "ngb-agent:latest";

function docker(args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(["docker", ...args], { env: { ...process.env, DOCKER_HOST: REMOTE } });
  return { code: r.exitCode, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
}

const READY = REMOTE !== "" && docker(["image", "inspect", IMAGE]).code === 0;
if (!READY)
  process.stderr.write(
    `[e2e remote] skipped: ${REMOTE ? `image ${IMAGE} not on ${REMOTE}` : "NGB_TEST_REMOTE_DOCKER_HOST is not set"}\n`,
  );
else process.stderr.write(`[e2e remote] ngb: ${chooseBinary()} engine: ${REMOTE} image: ${IMAGE}\n`);

interface Mount {
  Type: string;
  Source?: string;
  Name?: string;
  Destination: string;
}

/** This installation's agent containers on the remote engine. */
function agentContainers(dir: string): string[] {
  const instance = instanceIdOf({ dataDir: join(dir, "data") });
  return docker(["ps", "-a", "--filter", `label=ngb.instance=${instance}`, "--format", "{{.Names}}"])
    .out.split("\n")
    .filter((n) => n.startsWith("ngb-") && !n.startsWith("ngb-sync-"));
}

function mountsOf(name: string): Mount[] {
  const r = docker(["inspect", "--format", "{{json .Mounts}}", name]);
  return r.code === 0 ? (JSON.parse(r.out.trim()) as Mount[]) : [];
}

describe.skipIf(!READY)("agents on a remote engine over stdio (no host path visible)", () => {
  let dir: string;
  let fake: FakeAnthropic;
  let serve: ServeHandle;
  let chat: WebChat;
  let hang = false;
  const inspected: string[] = [];
  let env: Record<string, string>;

  /** Every agent container seen so far has only volume mounts, none from the host. */
  function assertNoHostPath() {
    for (const name of agentContainers(dir)) {
      const mounts = mountsOf(name);
      inspected.push(name);
      expect(mounts.length).toBeGreaterThan(0);
      for (const m of mounts) {
        expect(m.Type).toBe("volume");
        expect(m.Source ?? "").not.toContain(dir);
      }
      const binds = docker(["inspect", "--format", "{{json .HostConfig.Binds}}", name]).out.trim();
      expect(binds === "null" || binds === "[]").toBe(true);
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
      DOCKER_HOST: REMOTE,
      NGB_CONTAINER_TRANSPORT: "stdio",
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
    const instance = dir ? instanceIdOf({ dataDir: join(dir, "data") }) : "";
    if (instance) {
      const left = docker(["ps", "-aq", "--filter", `label=ngb.instance=${instance}`])
        .out.split("\n")
        .filter(Boolean);
      if (left.length) docker(["rm", "-f", ...left]);
      const vols = docker(["volume", "ls", "-q", "--filter", `label=ngb.instance=${instance}`])
        .out.split("\n")
        .filter(Boolean);
      if (vols.length) docker(["volume", "rm", "-f", ...vols]);
    }
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
    const inVolume = docker([
      "run",
      "--rm",
      "--network",
      "none",
      "--mount",
      `type=volume,source=${volume},target=/v,readonly`,
      "--entrypoint",
      "cat",
      IMAGE,
      "/v/CLAUDE.md",
    ]);
    expect(inVolume.out).toBe("# edited on the host\n");
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
