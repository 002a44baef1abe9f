/**
 * The real agent image in a real engine: `docker run -i --rm --init --network none` with the
 * proxy's unix socket mounted at /run/ngb, the same hardening flags the host runner passes, and
 * the real SDK inside talking to the fake Anthropic API through the socket. Skipped (with the
 * reason printed) when no engine or no `ngb-agent` image is here (build: scripts/agent-image.sh).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { CLOSE_SENTINEL, type ContainerInput, IpcRequest } from "../src/protocol/index.ts";
import { type FakeAnthropic, scripts, startFakeAnthropic } from "./fakes/anthropic.ts";
import { watchAgent } from "./support/agent-process.ts";
import { agentImageAvailable, engineAvailable } from "./support/engine.ts";
import { type SocketProxy, startSocketProxy } from "./support/socket-proxy.ts";

const IMAGE = process.env.NGB_TEST_AGENT_IMAGE || "ngb-agent:latest";
const available = (await engineAvailable()) && (await agentImageAvailable(IMAGE));
const docker = process.env.NGB_CONTAINER_RUNTIME || "docker";
const TOKEN = "ngb-container-token";
/** Run as a uid that is neither root nor the image's `agent`, like a host user would be. */
const UID = process.getuid?.() === 0 ? 4321 : (process.getuid?.() ?? 1000);
const GID = process.getuid?.() === 0 ? 4321 : (process.getgid?.() ?? 1000);

let fake: FakeAnthropic;
let proxy: SocketProxy;
let root: string;
const names: string[] = [];

beforeAll(async () => {
  if (!available) return;
  // Keep the image current with the sources when it was built offline here (cached: ~0.1 s).
  const { agentImageStatus, buildAgentImage, OFFLINE_BASE_IMAGE } = await import("../src/image/index.ts");
  const status = await agentImageStatus({ runtime: docker, image: IMAGE, base: OFFLINE_BASE_IMAGE });
  if (status.upToDate === false) {
    process.stderr.write(`[container-image] ${IMAGE} is older than the sources, rebuilding\n`);
    await buildAgentImage({ runtime: docker, image: IMAGE, offline: true, log: () => {} });
  }
  root = mkdtempSync(join(tmpdir(), "ngb-image-"));
  chmodSync(root, 0o755);
  fake = startFakeAnthropic({
    script: scripts.byPrompt([
      { when: "notify", script: scripts.sendMessageThenText("from the container", "sent it") },
      {
        when: "use bash",
        script: scripts.toolThenText(
          "Bash",
          { command: "echo $((6*7)) > answer.txt && cat answer.txt" },
          (r) => `bash said: ${r}`,
        ),
      },
      {
        when: "use grep",
        script: scripts.toolThenText(
          "Grep",
          { pattern: "needle", output_mode: "content" },
          (r) => `grep said: ${r}`,
        ),
      },
    ]),
  });
  const sockDir = join(root, "proxy");
  mkdirSync(sockDir, { mode: 0o755 });
  proxy = startSocketProxy({ socketPath: join(sockDir, "proxy.sock"), upstream: fake.url, token: TOKEN });
}, 180_000);

afterAll(async () => {
  if (!available) return;
  for (const name of names)
    Bun.spawnSync([docker, "rm", "-f", name], { stdout: "ignore", stderr: "ignore", env: process.env });
  await proxy.stop();
  await fake.stop();
  rmSync(root, { recursive: true, force: true });
});

function workspace(name: string) {
  const ws = join(root, name);
  const dirs = {
    group: join(ws, "group"),
    global: join(ws, "global"),
    claude: join(ws, "claude"),
    ipc: join(ws, "ipc"),
  };
  for (const d of [
    dirs.group,
    dirs.global,
    dirs.claude,
    join(dirs.ipc, "input"),
    join(dirs.ipc, "messages"),
    join(dirs.ipc, "tasks"),
  ]) {
    mkdirSync(d, { recursive: true });
    if (process.getuid?.() === 0) chownSync(d, UID, GID);
  }
  writeFileSync(join(dirs.global, "CLAUDE.md"), "Global memory: be brief.\n");
  return dirs;
}

function runContainer(
  input: Partial<ContainerInput> & { prompt: string },
  dirs: ReturnType<typeof workspace>,
) {
  const name = `ngb-test-agent-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  names.push(name);
  const mount = (src: string, dst: string, ro = false) => [
    "--mount",
    `type=bind,source=${src},target=${dst}${ro ? ",readonly" : ""}`,
  ];
  const proc = Bun.spawn(
    [
      docker,
      "run",
      "-i",
      "--rm",
      "--init",
      "--name",
      name,
      "--network",
      "none",
      "--memory",
      "1g",
      "--pids-limit",
      "256",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "--user",
      `${UID}:${GID}`,
      ...mount(dirs.group, "/workspace/group"),
      ...mount(dirs.global, "/workspace/global", true),
      ...mount(dirs.claude, "/home/agent/.claude"),
      ...mount(dirs.ipc, "/workspace/ipc"),
      ...mount(join(root, "proxy"), "/run/ngb", true),
      "-e",
      "NGB_PROXY_TOKEN",
      IMAGE,
    ],
    { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, NGB_PROXY_TOKEN: TOKEN } },
  );
  const full: ContainerInput = {
    groupFolder: "main",
    chatJid: "web:main",
    isMain: true,
    assistantName: "Andy",
    idleTimeoutMs: 60_000,
    ...input,
  };
  proc.stdin.write(JSON.stringify(full));
  proc.stdin.end();
  return { name, agent: watchAgent({ stdout: proc.stdout, stderr: proc.stderr, exited: proc.exited }) };
}

describe.skipIf(!available)(`agent image ${IMAGE} in a real engine`, () => {
  test("replies through the socket proxy; a tool call writes an IPC file; a follow-up and _close work", async () => {
    const dirs = workspace("one");
    const { agent } = runContainer({ prompt: "please notify everyone" }, dirs);
    const first = await agent.waitFor(1, 40_000);
    expect(first).toMatchObject({ status: "success", result: "sent it" });
    expect(proxy.seen.some((s) => s.token === TOKEN && s.path.startsWith("/v1/messages"))).toBe(true);

    const files = readdirSync(join(dirs.ipc, "messages")).filter((n) => n.endsWith(".json"));
    expect(files).toHaveLength(1);
    const request = JSON.parse(readFileSync(join(dirs.ipc, "messages", files[0] as string), "utf8"));
    expect(v.is(IpcRequest, request)).toBe(true);
    expect(request).toEqual({ type: "message", chatJid: "web:main", text: "from the container" });
    // The global CLAUDE.md reached the system prompt.
    expect(JSON.stringify(fake.requests.at(-1)?.body.system)).toContain("Global memory: be brief.");

    const input = join(dirs.ipc, "input");
    writeFileSync(join(input, ".f1.tmp"), JSON.stringify({ type: "message", text: "and one more" }));
    renameSync(join(input, ".f1.tmp"), join(input, "0001.json"));
    const second = await agent.waitFor(2, 20_000);
    expect(second).toMatchObject({
      status: "success",
      result: "echo: and one more",
      newSessionId: first.newSessionId,
    });

    writeFileSync(join(input, CLOSE_SENTINEL), "");
    expect(await agent.exited).toBe(0);
    expect(agent.stray).toEqual([]);
    // The session transcript lives in the per-group mounted config dir.
    expect(existsSync(join(dirs.claude, "projects"))).toBe(true);
  }, 90_000);

  test("built-in tools work inside the image (Bash writes into the group folder, Grep finds text)", async () => {
    const dirs = workspace("tools");
    writeFileSync(join(dirs.group, "notes.md"), "a haystack with a needle in it\n");
    const bash = runContainer({ prompt: "use bash please", idleTimeoutMs: 500 }, dirs);
    const out = await bash.agent.waitFor(1, 40_000);
    expect(out.result).toContain("bash said:");
    expect(out.result).toContain("42");
    expect(readFileSync(join(dirs.group, "answer.txt"), "utf8").trim()).toBe("42");
    expect(await bash.agent.exited).toBe(0);

    const grep = runContainer({ prompt: "use grep please", idleTimeoutMs: 500 }, dirs);
    const found = await grep.agent.waitFor(1, 40_000);
    expect(found.result).toContain("a haystack with a needle in it");
    expect(await grep.agent.exited).toBe(0);
  }, 90_000);

  test("the container has no network but the proxy", async () => {
    const name = `ngb-test-net-${Date.now().toString(36)}`;
    names.push(name);
    const res = Bun.spawnSync(
      [
        docker,
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        "none",
        "--entrypoint",
        "/bin/sh",
        IMAGE,
        "-c",
        "cat /proc/net/dev | tail -n +3 | cut -d: -f1",
      ],
      { stdout: "pipe", stderr: "pipe", env: process.env },
    );
    expect(res.stderr.toString()).toBe("");
    expect(res.exitCode).toBe(0);
    expect(res.stdout.toString().trim().split(/\s+/)).toEqual(["lo"]);
  }, 30_000);
});
