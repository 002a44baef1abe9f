/**
 * The real agent image in a real engine: `docker run -i --rm --init --network none` with the
 * proxy's unix socket mounted at /run/ngb, the hardening the host runner passes (uid 10001, a
 * read-only root filesystem with a tmpfs on /tmp, no capabilities), and the real SDK inside
 * talking to the fake Anthropic API through the socket, driven over stdio with protocol v2
 * frames. Skipped (with the reason printed) when no engine or no image is here (build:
 * scripts/agent-image.sh). NGB_TEST_AGENT_IMAGE picks another tag than ngb-agent:latest.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { AgentFrame, type ContainerInput } from "../src/protocol/index.ts";
import { type FakeAnthropic, scripts, startFakeAnthropic } from "./fakes/anthropic.ts";
import { hostStdin, watchAgent } from "./support/agent-process.ts";
import { agentImageAvailable, engineAvailable } from "./support/engine.ts";
import { type SocketProxy, startSocketProxy } from "./support/socket-proxy.ts";

const IMAGE = process.env.NGB_TEST_AGENT_IMAGE || "ngb-agent:latest";
const available = (await engineAvailable()) && (await agentImageAvailable(IMAGE));
const docker = process.env.NGB_CONTAINER_RUNTIME || "docker";
const TOKEN = "ngb-container-token";
/**
 * As the host runs it: the image's unprivileged uid, and a group the host shares (its own gid;
 * as root here, the agent's own group) so both sides can manage the group-writable files.
 */
const UID = 10001;
const isRoot = process.getuid?.() === 0;
const GID = isRoot ? 10001 : (process.getgid?.() ?? 10001);

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
        when: "check the box",
        script: scripts.toolThenText(
          "Bash",
          {
            command:
              "id -u; touch /home/agent/x /app/x /etc/x 2>&1; echo scratch > /tmp/t && cat /tmp/t; touch made.txt; stat -c %a made.txt",
          },
          (r) => `box: ${r}`,
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
  const dirs = { group: join(ws, "group"), global: join(ws, "global"), claude: join(ws, "claude") };
  for (const d of [dirs.group, dirs.global, dirs.claude]) {
    mkdirSync(d, { recursive: true });
    // Group-writable with the shared group, as the host prepares them.
    if (isRoot) chownSync(d, 0, GID);
    chmodSync(d, 0o2775);
  }
  chmodSync(ws, 0o755);
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
      "--read-only",
      "--tmpfs",
      "/tmp:rw,nosuid,nodev,size=64m",
      "--user",
      `${UID}:${GID}`,
      ...mount(dirs.group, "/workspace/group"),
      ...mount(dirs.global, "/workspace/global", true),
      ...mount(dirs.claude, "/home/agent/.claude"),
      ...mount(join(root, "proxy"), "/run/ngb", true),
      "-e",
      "NGB_PROXY_TOKEN",
      IMAGE,
    ],
    { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, NGB_PROXY_TOKEN: TOKEN } },
  );
  const full: ContainerInput = {
    inputId: "in-1",
    groupFolder: "main",
    chatJid: "web:main",
    isMain: true,
    assistantName: "Andy",
    idleTimeoutMs: 60_000,
    ...input,
  };
  const host = hostStdin(proc.stdin);
  host.send({ type: "start", input: full });
  return { name, host, agent: watchAgent({ stdout: proc.stdout, stderr: proc.stderr, exited: proc.exited }) };
}

describe.skipIf(!available)(`agent image ${IMAGE} in a real engine`, () => {
  test("replies through the socket proxy; a tool call is a request frame answered by a reply; a follow-up and close work", async () => {
    const dirs = workspace("one");
    const { agent, host } = runContainer({ prompt: "please notify everyone" }, dirs);
    const req = await agent.waitForRequest(1, 40_000);
    expect(req).toMatchObject({
      turn: ["in-1"],
      request: { type: "message", chatJid: "web:main", text: "from the container" },
    });
    host.send({ type: "reply", reqId: req.reqId, ok: true, text: "Delivered." });
    const first = await agent.waitFor(1, 40_000);
    expect(first).toMatchObject({ status: "success", result: "sent it", consumed: ["in-1"] });
    expect(proxy.seen.some((s) => s.token === TOKEN && s.path.startsWith("/v1/messages"))).toBe(true);
    // The host's reply reached the model as the tool result.
    expect(JSON.stringify(fake.requests.at(-1)?.body.messages)).toContain("Delivered.");
    // The global CLAUDE.md reached the system prompt.
    expect(JSON.stringify(fake.requests.at(-1)?.body.system)).toContain("Global memory: be brief.");

    host.send({ type: "input", id: "in-2", text: "and one more" });
    const second = await agent.waitFor(2, 20_000);
    expect(second).toMatchObject({
      status: "success",
      result: "echo: and one more",
      consumed: ["in-2"],
      newSessionId: first.newSessionId,
    });

    host.send({ type: "close" });
    expect(await agent.exited).toBe(0);
    expect(agent.stray).toEqual([]);
    expect(agent.frames.every((f) => v.is(AgentFrame, f))).toBe(true);
    // The session transcript lives in the per-group mounted config dir, group-writable.
    expect(existsSync(join(dirs.claude, "projects"))).toBe(true);
    expect(statSync(join(dirs.claude, "projects")).mode & 0o070).toBe(0o070);
    // Even what the CLI creates private (0600/0700) is left manageable by the host's group.
    expect(statSync(join(dirs.claude, ".claude.json")).mode & 0o060).toBe(0o060);
    expect(statSync(join(dirs.claude, "sessions")).mode & 0o070).toBe(0o070);
  }, 90_000);

  test("read-only root as uid 10001: only /tmp, the group folder and the session dir are writable", async () => {
    const dirs = workspace("box");
    const { agent } = runContainer({ prompt: "check the box", idleTimeoutMs: 500 }, dirs);
    const out = await agent.waitFor(1, 40_000);
    const text = out.result ?? "";
    expect(text).toContain("box: 10001");
    for (const path of ["/home/agent/x", "/app/x", "/etc/x"])
      expect(text).toMatch(new RegExp(`${path}'?: Read-only file system`));
    expect(text).toContain("scratch");
    expect(text.trim().endsWith("664")).toBe(true); // umask 002: the host's group may manage it
    expect(statSync(join(dirs.group, "made.txt")).uid).toBe(UID);
    expect(await agent.exited).toBe(0);
    expect(agent.stderr.join("")).not.toMatch(/EROFS|read-only file system/i);
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
