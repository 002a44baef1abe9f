import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { type FakeDocker, type FakeDockerMode, installFakeDocker } from "../../test/fakes/docker-cli.ts";
import { Config } from "../config/index.ts";
import { silentLogger } from "../log/index.ts";
import { type ContainerInput, type ContainerOutput, formatOutput } from "../protocol/index.ts";
import type { GroupContainerConfig, RegisteredGroup } from "../store/index.ts";
import { createDockerRunner, type DockerRunnerOptions, type SpawnFn } from "./index.ts";

let root: string;
let fake: FakeDocker;
let tokens: { issued: string[]; revoked: string[] };

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ngb-runner-"));
  fake = installFakeDocker();
  tokens = { issued: [], revoked: [] };
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  fake.cleanup();
});

function group(
  overrides: Partial<RegisteredGroup> = {},
  cc: GroupContainerConfig | null = null,
): RegisteredGroup {
  return {
    jid: "web:alpha",
    name: "Alpha",
    folder: "alpha",
    triggerPattern: null,
    requiresTrigger: false,
    isMain: false,
    containerConfig: cc,
    addedAt: 0,
    ...overrides,
  };
}

function input(g: RegisteredGroup, prompt = "hello"): ContainerInput {
  return { prompt, groupFolder: g.folder, chatJid: g.jid, isMain: g.isMain, assistantName: "Andy" };
}

function runner(container: Record<string, unknown> = {}, extra: Partial<DockerRunnerOptions> = {}) {
  const config = v.parse(Config, { container: { runtime: fake.bin, ...container } });
  mkdirSync(join(root, "data", "proxy"), { recursive: true });
  return createDockerRunner({
    config,
    log: silentLogger(),
    paths: {
      groupsDir: join(root, "groups"),
      dataDir: join(root, "data"),
      projectRoot: join(root, "project"),
    },
    proxy: {
      socketPath: join(root, "data", "proxy", "proxy.sock"),
      issue: (folder) => {
        const t = `tok-${folder}-${tokens.issued.length}`;
        tokens.issued.push(t);
        return t;
      },
      revoke: (t) => tokens.revoked.push(t),
    },
    instanceId: "inst-1",
    env: { ...process.env, ...fake.env },
    closeGraceMs: 300,
    ...extra,
  });
}

async function run(mode: FakeDockerMode, g = group(), container: Record<string, unknown> = {}) {
  fake.setMode(mode);
  const r = runner(container);
  const outputs: ContainerOutput[] = [];
  const proc = await r.start({ group: g, input: input(g), onOutput: async (o) => void outputs.push(o) });
  return { r, proc, outputs, result: await proc.done };
}

function runCall() {
  return fake.calls().find((c) => c.args[0] === "run")!;
}

/** Value after each occurrence of a flag. */
function flagValues(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

async function until(cond: () => boolean, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

describe("docker runner against a fake docker CLI", () => {
  test("issues the exact docker run command, streams the result, logs stderr", async () => {
    const g = group({ folder: "alpha", isMain: true });
    const { result, outputs, proc } = await run("ok", g);
    expect(result).toMatchObject({ status: "success", exitCode: 0, outputs: 1, newSessionId: "sess-1" });
    expect(outputs).toEqual([{ status: "success", result: "hi hello", newSessionId: "sess-1" }]);
    expect(proc.name).toMatch(/^ngb-alpha-[0-9a-f]{8}$/);

    const { args, token } = runCall();
    expect(args.slice(0, 4)).toEqual(["run", "-i", "--rm", "--init"]);
    expect(flagValues(args, "--name")).toEqual([proc.name]);
    expect(flagValues(args, "--label")).toEqual([
      "ngb.managed=true",
      "ngb.group=alpha",
      "ngb.instance=inst-1",
    ]);
    expect(flagValues(args, "--network")).toEqual(["none"]);
    expect(flagValues(args, "--memory")).toEqual(["1g"]);
    expect(flagValues(args, "--cpus")).toEqual(["1"]);
    expect(flagValues(args, "--pids-limit")).toEqual(["512"]);
    expect(flagValues(args, "--cap-drop")).toEqual(["ALL"]);
    expect(flagValues(args, "--security-opt")).toEqual(["no-new-privileges"]);
    // Default user: the host's own uid:gid, so the agent can write its mounted folders.
    expect(flagValues(args, "--user")).toEqual([`${process.getuid!()}:${process.getgid!()}`]);
    expect(flagValues(args, "--mount")).toEqual([
      `type=bind,source=${root}/groups/alpha,target=/workspace/group`,
      `type=bind,source=${root}/groups/global,target=/workspace/global,readonly`,
      `type=bind,source=${root}/data/sessions/alpha/.claude,target=/home/agent/.claude`,
      `type=bind,source=${root}/data/ipc/alpha,target=/workspace/ipc`,
      `type=bind,source=${root}/project,target=/workspace/project,readonly`,
      `type=bind,source=${root}/data/proxy,target=/run/ngb,readonly`,
    ]);
    // The token travels in the environment, never in argv.
    expect(flagValues(args, "-e")).toEqual(["NGB_PROXY_TOKEN"]);
    expect(token).toBe("tok-alpha-0");
    expect(args.join(" ")).not.toContain("tok-alpha");
    expect(args.at(-1)).toBe("ngb-agent:latest");
    expect(tokens.revoked).toEqual(["tok-alpha-0"]);

    expect(JSON.parse(fake.stdin())).toEqual(input(g));
    for (const d of ["ipc/alpha/messages", "ipc/alpha/tasks", "ipc/alpha/input", "sessions/alpha/.claude"])
      expect(existsSync(join(root, "data", d))).toBe(true);
    const logs = readdirSync(join(root, "groups", "alpha", "logs"));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^container-.*\.log$/);
    expect(readFileSync(join(root, "groups", "alpha", "logs", logs[0]!), "utf8")).toContain(
      "fake agent starting",
    );
  });

  test("non-main groups get no project mount; --user and group overrides apply", async () => {
    const g = group({}, { memory: "256m", cpus: "0.5", network: "bridge" });
    const { result } = await run("ok", g, { user: "1000:1000", pidsLimit: 64 });
    expect(result.status).toBe("success");
    const { args } = runCall();
    expect(args.join(" ")).not.toContain("/workspace/project");
    expect(flagValues(args, "--user")).toEqual(["1000:1000"]);
    expect(flagValues(args, "--memory")).toEqual(["256m"]);
    expect(flagValues(args, "--cpus")).toEqual(["0.5"]);
    expect(flagValues(args, "--network")).toEqual(["bridge"]);
    expect(flagValues(args, "--pids-limit")).toEqual(["64"]);
  });

  test("onOutput is awaited and results arrive in order, as they stream", async () => {
    fake.setMode("two-slow");
    const r = runner();
    const seen: string[] = [];
    const g = group();
    const proc = await r.start({
      group: g,
      input: input(g),
      onOutput: async (o) => {
        seen.push(`start ${o.result}`);
        await Bun.sleep(20);
        seen.push(`end ${o.result}`);
      },
    });
    const result = await proc.done;
    expect(seen).toEqual(["start first", "end first", "start second", "end second"]);
    expect(result).toMatchObject({ status: "success", outputs: 2, newSessionId: "sess-2" });
  });

  test("bad JSON between markers becomes an error output; the run carries on", async () => {
    const { result, outputs } = await run("bad-json");
    expect(outputs.map((o) => o.status)).toEqual(["error", "success"]);
    expect(outputs[0]!.error).toContain("invalid output from agent");
    expect(result.status).toBe("success");
  });

  test("exit without the end marker is an error result", async () => {
    const { result, outputs } = await run("no-end-marker");
    expect(outputs).toEqual([]);
    expect(result.status).toBe("error");
    expect(result.error).toContain("no end marker");
  });

  test("a failing agent is an error result carrying its stderr", async () => {
    const { result } = await run("exit-1");
    expect(result).toMatchObject({ status: "error", exitCode: 1 });
    expect(result.error).toContain("boom: something broke");
  });

  test("hard timeout removes the container with docker rm -f and reports timeout", async () => {
    const g = group({}, { timeoutMs: 300 });
    const { result, proc } = await run("hang", g);
    expect(result.status).toBe("timeout");
    expect(result.error).toContain("timed out");
    expect(fake.calls().some((c) => c.args.join(" ") === `rm -f ${proc.name}`)).toBe(true);
  });

  test("a delivery that hangs does not block the group past the timeout", async () => {
    fake.setMode("two-slow");
    const r = runner();
    const g = group({}, { timeoutMs: 300 });
    const proc = await r.start({ group: g, input: input(g), onOutput: () => new Promise(() => {}) });
    const result = await proc.done;
    expect(result.status).toBe("timeout");
    expect(r.running()).toEqual([]);
  });

  test("an unsafe group folder never reaches docker", async () => {
    const r = runner();
    const g = group({ folder: "../escape" });
    const proc = await r.start({
      group: g,
      input: { ...input(group()), groupFolder: "alpha" },
      onOutput: async () => {},
    });
    const result = await proc.done;
    expect(result.status).toBe("error");
    expect(result.error).toContain("unsafe group folder");
    expect(fake.calls()).toEqual([]);
  });

  test("old per-run stderr logs are pruned", async () => {
    const logs = join(root, "groups", "alpha", "logs");
    mkdirSync(logs, { recursive: true });
    for (let i = 0; i < 60; i++)
      writeFileSync(join(logs, `container-2020-01-01T00-00-${String(i).padStart(2, "0")}.log`), "");
    writeFileSync(join(logs, "other.txt"), "");
    await run("ok");
    const left = readdirSync(logs);
    expect(left.filter((f) => f.startsWith("container-"))).toHaveLength(50);
    expect(left).toContain("other.txt");
    expect(left).not.toContain("container-2020-01-01T00-00-00.log");
  });

  test("output over maxOutputBytes kills the container", async () => {
    const { result, proc } = await run("flood", group(), { maxOutputBytes: 64 * 1024 });
    expect(result.status).toBe("error");
    expect(result.error).toContain("output exceeded 65536 bytes");
    expect(fake.calls().some((c) => c.args.join(" ") === `rm -f ${proc.name}`)).toBe(true);
  });

  test("warm container: follow-ups are written atomically and answered; idle timeout closes it", async () => {
    fake.setMode("warm");
    const r = runner({ idleTimeoutMs: 400 });
    const outputs: ContainerOutput[] = [];
    const g = group();
    const proc = await r.start({ group: g, input: input(g), onOutput: async (o) => void outputs.push(o) });
    await until(() => outputs.length === 1, "first output");
    expect(r.running().map((c) => c.name)).toEqual([proc.name]);
    expect(r.running()[0]).toMatchObject({ groupFolder: "alpha", chatJid: "web:alpha" });
    expect(await proc.sendFollowUp("second")).toBe(true);
    await until(() => outputs.length === 2, "follow-up answer");
    expect(await proc.sendFollowUp("third")).toBe(true);
    await until(() => outputs.length === 3, "second follow-up answer");
    expect(outputs.map((o) => o.result)).toEqual(["hi hello", "echo second", "echo third"]);
    const result = await proc.done; // idle timeout → _close → agent exits
    expect(result).toMatchObject({ status: "success", outputs: 3, newSessionId: "sess-w" });
    expect(result.unconsumedFollowUps).toBeUndefined();
    expect(await proc.sendFollowUp("too late")).toBe(false);
    expect(r.running()).toEqual([]);
    // No leftover temp files in the input dir.
    expect(
      readdirSync(join(root, "data", "ipc", "alpha", "input")).filter((f) => f.endsWith(".tmp")),
    ).toEqual([]);
  });

  test("close() asks the agent to finish; sendFollowUp then refuses", async () => {
    fake.setMode("warm");
    const r = runner();
    const outputs: ContainerOutput[] = [];
    const g = group();
    const proc = await r.start({ group: g, input: input(g), onOutput: async (o) => void outputs.push(o) });
    await until(() => outputs.length === 1, "first output");
    proc.close();
    expect(await proc.sendFollowUp("x")).toBe(false);
    expect((await proc.done).status).toBe("success");
  });

  test("an agent that ignores _close is removed after the grace period", async () => {
    fake.setMode("ignore-close");
    const r = runner({ idleTimeoutMs: 100 });
    const g = group();
    const proc = await r.start({ group: g, input: input(g), onOutput: async () => {} });
    const result = await proc.done;
    expect(result).toMatchObject({ status: "success", outputs: 1 });
    expect(fake.calls().some((c) => c.args.join(" ") === `rm -f ${proc.name}`)).toBe(true);
  });

  test("stale follow-ups and _close from an earlier container are cleared at start", async () => {
    const inputDir = join(root, "data", "ipc", "alpha", "input");
    mkdirSync(inputDir, { recursive: true });
    writeFileSync(join(inputDir, "_close"), "");
    writeFileSync(join(inputDir, "0001-old.json"), '{"type":"message","text":"old"}');
    fake.setMode("warm");
    const r = runner();
    const outputs: ContainerOutput[] = [];
    const g = group();
    const proc = await r.start({ group: g, input: input(g), onOutput: async (o) => void outputs.push(o) });
    await until(() => outputs.length === 1, "first output");
    expect(readdirSync(inputDir)).toEqual([]);
    await proc.kill("test over");
    expect(outputs.map((o) => o.result)).toEqual(["hi hello"]);
  });

  test("stopAll removes running containers and resolves their runs", async () => {
    fake.setMode("hang");
    const r = runner();
    const g = group();
    const proc = await r.start({ group: g, input: input(g), onOutput: async () => {} });
    await until(() => existsSync(join(fake.dir, `${proc.name}.pid`)), "fake container up");
    await r.stopAll();
    const result = await proc.done;
    expect(result.status).toBe("error");
    expect(result.error).toBe("stopped: shutdown");
    expect(r.running()).toEqual([]);
  });

  test("a missing engine binary is a clear error result, never a throw", async () => {
    const r = runner({ runtime: join(root, "no-such-docker") });
    const g = group();
    const proc = await r.start({ group: g, input: input(g), onOutput: async () => {} });
    const result = await proc.done;
    expect(result.status).toBe("error");
    expect(result.error).toContain("container engine not reachable");
    expect(result.error).toContain("run ngb doctor");
    expect(await r.cleanupOrphans()).toBe(0);
    expect(tokens.revoked).toEqual(tokens.issued);
  });

  test("a daemon that refuses is a clear error result", async () => {
    const { result } = await run("engine-down");
    expect(result.status).toBe("error");
    expect(result.error).toMatch(
      /^container engine not reachable: Cannot connect to the Docker daemon.*run ngb doctor$/,
    );
  });

  test("a missing image says how to build it", async () => {
    const { result } = await run("no-image");
    expect(result.error).toBe("image ngb-agent:latest not found: build it with ngb image build");
  });

  test("cleanupOrphans removes every container labelled with this installation's instance", async () => {
    fake.setContainers(["ngb-old-1", "ngb-old-2"]);
    const r = runner();
    expect(await r.cleanupOrphans()).toBe(2);
    const calls = fake.calls().map((c) => c.args.join(" "));
    expect(calls).toEqual([
      "ps -a --filter label=ngb.managed=true --filter label=ngb.instance=inst-1 --format {{.Names}}",
      "rm -f ngb-old-1 ngb-old-2",
    ]);
    fake.setContainers([]);
    expect(await r.cleanupOrphans()).toBe(0);
  });

  test("extra mounts pass the allowlist; refused ones are left out", async () => {
    const home = join(root, "home");
    mkdirSync(join(home, "projects", "app"), { recursive: true });
    mkdirSync(join(home, ".ssh"), { recursive: true });
    const allowFile = join(root, "allow.json");
    writeFileSync(allowFile, JSON.stringify({ allowedRoots: [{ path: home, allowReadWrite: true }] }));
    const g = group(
      {},
      {
        additionalMounts: [
          { hostPath: join(home, "projects", "app"), readonly: false },
          { hostPath: join(home, ".ssh") },
          { hostPath: join(home, "projects", "..", "..") },
        ],
      },
    );
    const { result } = await run("ok", g, { mountAllowlistPath: allowFile });
    expect(result.status).toBe("success");
    const extra = flagValues(runCall().args, "--mount").filter((m) => m.includes("/workspace/extra"));
    expect(extra).toEqual([`type=bind,source=${home}/projects/app,target=/workspace/extra/app,readonly`]);
  });
});

describe("docker runner with an injected spawn", () => {
  test("stderr goes to the group's log, capped", async () => {
    const noisy: SpawnFn = (c) => ({
      stdin: { write() {}, end() {} },
      stdout: new Response(c[1] === "run" ? formatOutput({ status: "success", result: "x" }) : "").body!,
      stderr: new Response(c[1] === "run" ? "e".repeat(5000) : "").body!,
      exited: Promise.resolve(0),
      kill() {},
    });
    const r = runner({}, { spawn: noisy, maxStderrBytes: 1000 });
    const g = group();
    const proc = await r.start({ group: g, input: input(g), onOutput: async () => {} });
    expect((await proc.done).status).toBe("success");
    const dir = join(root, "groups", "alpha", "logs");
    const text = readFileSync(join(dir, readdirSync(dir)[0]!), "utf8");
    expect(text.startsWith("e".repeat(1000))).toBe(true);
    expect(text).toContain("[ngb: log truncated at 1000 bytes]");
    expect(text.length).toBeLessThan(1100);
  });

  test("markers split into single bytes still parse; stdin gets the input", async () => {
    let stdinText = "";
    let cmd: string[] = [];
    const spawn: SpawnFn = (c) => {
      cmd = c;
      if (c[1] !== "run") {
        return {
          stdin: { write() {}, end() {} },
          stdout: new Response("").body!,
          stderr: new Response("").body!,
          exited: Promise.resolve(0),
          kill() {},
        };
      }
      const bytes = new TextEncoder().encode(`junk\n${formatOutput({ status: "success", result: "ü" })}`);
      let i = 0;
      return {
        stdin: {
          write(d: string | Uint8Array) {
            stdinText += typeof d === "string" ? d : new TextDecoder().decode(d);
          },
          end() {},
        },
        stdout: new ReadableStream<Uint8Array>({
          pull(ctl) {
            if (i < bytes.length) ctl.enqueue(bytes.subarray(i, ++i));
            else ctl.close();
          },
        }),
        stderr: new Response("").body!,
        exited: Promise.resolve(0),
        kill() {},
      };
    };
    const r = runner({ runtime: "podman" }, { spawn });
    const outputs: ContainerOutput[] = [];
    const g = group();
    const proc = await r.start({
      group: g,
      input: input(g, "p"),
      onOutput: async (o) => void outputs.push(o),
    });
    expect((await proc.done).status).toBe("success");
    expect(outputs).toEqual([{ status: "success", result: "ü" }]);
    expect(cmd[0]).toBe("podman");
    expect(JSON.parse(stdinText).prompt).toBe("p");
  });
});
