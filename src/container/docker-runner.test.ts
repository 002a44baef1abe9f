import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { type FakeDocker, type FakeDockerMode, installFakeDocker } from "../../test/fakes/docker-cli.ts";
import { Config } from "../config/index.ts";
import { silentLogger } from "../log/index.ts";
import { type ContainerInput, formatFrame, type ResultFrame } from "../protocol/index.ts";
import type { GroupContainerConfig, RegisteredGroup } from "../store/index.ts";
import { type AgentRunner, createDockerRunner, type DockerRunnerOptions, type SpawnFn } from "./index.ts";

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
  return {
    prompt,
    inputId: "i0",
    groupFolder: g.folder,
    chatJid: g.jid,
    isMain: g.isMain,
    assistantName: "Andy",
  };
}

const result_ = (text: string, consumed: string[] = ["i0"]): ResultFrame => ({
  type: "result",
  status: "success",
  result: text,
  consumed,
});

/** Start a run; results are collected, requests answered with `answer`. */
function startRun(
  r: AgentRunner,
  g: RegisteredGroup,
  opts: {
    onResult?: (o: ResultFrame) => Promise<void>;
    answer?: (req: unknown) => { ok: boolean; text: string };
    prompt?: string;
  } = {},
) {
  const outputs: ResultFrame[] = [];
  const requests: unknown[] = [];
  const proc = r.start({
    group: g,
    input: input(g, opts.prompt),
    onResult: opts.onResult ?? (async (o) => void outputs.push(o)),
    onRequest: async (f) => {
      requests.push(f);
      return opts.answer?.(f) ?? { ok: true, text: "fine" };
    },
  });
  return { proc, outputs, requests };
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
  const started = startRun(r, g);
  const proc = await started.proc;
  return { r, proc, outputs: started.outputs, requests: started.requests, result: await proc.done };
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
  test("issues the exact docker run command, streams the result, logs stderr to a host-only dir", async () => {
    const g = group({ folder: "alpha", isMain: true });
    const { result, outputs, proc } = await run("ok", g);
    expect(result).toMatchObject({ status: "success", exitCode: 0, outputs: 1, newSessionId: "sess-1" });
    expect(outputs).toEqual([{ ...result_("hi hello"), newSessionId: "sess-1" }]);
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
    expect(flagValues(args, "--ulimit")).toEqual([`fsize=${1024 ** 3}:${1024 ** 3}`, "nofile=4096:4096"]);
    expect(args).toContain("--read-only");
    expect(flagValues(args, "--tmpfs")[0]).toStartWith("/tmp:rw,nosuid,nodev,size=512m");
    // Default user: uid 10001 — never root, never the host's uid.
    const user = flagValues(args, "--user")[0]!;
    expect(user.split(":")[0]).toBe("10001");
    expect(user.split(":")[1]).toBe(process.getuid!() === 0 ? "10001" : String(process.getgid!()));
    // Main reads every group's folder; nothing of data/ but the session and the proxy socket dir.
    expect(flagValues(args, "--mount")).toEqual([
      `type=bind,source=${root}/groups/alpha,target=/workspace/group`,
      `type=bind,source=${root}/groups/global,target=/workspace/global,readonly`,
      `type=bind,source=${root}/data/sessions/alpha/.claude,target=/home/agent/.claude`,
      `type=bind,source=${root}/groups,target=/workspace/groups,readonly`,
      `type=bind,source=${root}/data/proxy,target=/run/ngb,readonly`,
    ]);
    expect(args.join(" ")).not.toContain("/workspace/ipc");
    expect(args.join(" ")).not.toContain(process.cwd() === root ? "\u0000" : `source=${process.cwd()},`);
    // The token travels in the environment, never in argv.
    expect(flagValues(args, "-e")).toEqual(["NGB_PROXY_TOKEN"]);
    expect(token).toBe("tok-alpha-0");
    expect(args.join(" ")).not.toContain("tok-alpha");
    expect(args.at(-1)).toBe("ngb-agent:latest");
    expect(tokens.revoked).toEqual(["tok-alpha-0"]);

    // stdin: the start frame as one NDJSON line, then close... (ok mode exits by itself)
    const frames = fake
      .stdin()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(frames[0]).toEqual({ type: "start", input: input(g) });
    expect(existsSync(join(root, "data", "sessions/alpha/.claude"))).toBe(true);
    expect(existsSync(join(root, "groups", "alpha", "logs"))).toBe(false);
    const logDir = join(root, "data", "logs", "alpha");
    const logs = readdirSync(logDir);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^container-.*\.log$/);
    expect(readFileSync(join(logDir, logs[0]!), "utf8")).toContain("fake agent starting");
    expect(statSync(logDir).mode & 0o777).toBe(0o700);
  });

  test("non-main groups get no groups mount; --user and group overrides apply", async () => {
    const g = group({}, { memory: "256m", cpus: "0.5", network: "bridge" });
    const { result } = await run("ok", g, { user: "1000:1000", pidsLimit: 64, readOnlyRoot: false });
    expect(result.status).toBe("success");
    const { args } = runCall();
    expect(args.join(" ")).not.toContain("/workspace/groups");
    expect(args).not.toContain("--read-only");
    expect(flagValues(args, "--user")).toEqual(["1000:1000"]);
    expect(flagValues(args, "--memory")).toEqual(["256m"]);
    expect(flagValues(args, "--cpus")).toEqual(["0.5"]);
    expect(flagValues(args, "--network")).toEqual(["bridge"]);
    expect(flagValues(args, "--pids-limit")).toEqual(["64"]);
  });

  test("onResult is awaited and results arrive in order, as they stream", async () => {
    fake.setMode("two-slow");
    const r = runner();
    const seen: string[] = [];
    const g = group();
    const { proc } = startRun(r, g, {
      onResult: async (o) => {
        seen.push(`start ${o.result}`);
        await Bun.sleep(20);
        seen.push(`end ${o.result}`);
      },
    });
    const res = await (await proc).done;
    expect(seen).toEqual(["start first", "end first", "start second", "end second"]);
    expect(res).toMatchObject({ status: "success", outputs: 2, newSessionId: "sess-2" });
  });

  test("bad JSON between markers is dropped; the run carries on", async () => {
    const { result, outputs } = await run("bad-json");
    expect(outputs.map((o) => o.result)).toEqual(["after"]);
    expect(result.status).toBe("success");
  });

  test("exit without the end marker is an error result", async () => {
    const { result, outputs } = await run("no-end-marker");
    expect(outputs).toEqual([]);
    expect(result).toMatchObject({ status: "error", failure: "agent" });
    expect(result.error).toContain("no end marker");
  });

  test("a failing agent is an error result carrying its stderr; its container is removed", async () => {
    const { result, proc } = await run("exit-1");
    expect(result).toMatchObject({ status: "error", exitCode: 1, failure: "agent" });
    expect(result.error).toContain("boom: something broke");
    expect(fake.calls().some((c) => c.args.join(" ") === `rm -f ${proc.name}`)).toBe(true);
  });

  test("a CLI that loses the engine mid-run: the container is removed, the failure is the engine's", async () => {
    const { result, proc, r } = await run("cut");
    expect(result).toMatchObject({ status: "error", failure: "engine" });
    expect(fake.calls().some((c) => c.args.join(" ") === `rm -f ${proc.name}`)).toBe(true);
    expect(r.engine().ok).toBe(false);
  });

  test("hard timeout removes the container with docker rm -f and reports timeout", async () => {
    const g = group({}, { timeoutMs: 300 });
    const { result, proc } = await run("hang", g);
    expect(result).toMatchObject({ status: "timeout", failure: "timeout" });
    expect(result.error).toContain("timed out");
    expect(fake.calls().some((c) => c.args.join(" ") === `rm -f ${proc.name}`)).toBe(true);
  });

  test("an agent that makes no progress is stopped as stalled", async () => {
    const { result, proc } = await run("hang", group(), { stallTimeoutMs: 300 });
    expect(result).toMatchObject({ status: "error", failure: "stalled" });
    expect(result.error).toContain("no progress");
    expect(fake.calls().some((c) => c.args.join(" ") === `rm -f ${proc.name}`)).toBe(true);
  });

  test("a result handler that hangs does not block the group past the timeout", async () => {
    fake.setMode("two-slow");
    const r = runner();
    const g = group({}, { timeoutMs: 300 });
    const { proc } = startRun(r, g, { onResult: () => new Promise(() => {}) });
    const res = await (await proc).done;
    expect(res.status).toBe("timeout");
    expect(r.running()).toEqual([]);
  });

  test("an unsafe group folder never reaches docker", async () => {
    const r = runner();
    const g = group({ folder: "../escape" });
    const proc = await r.start({
      group: g,
      input: { ...input(group()), groupFolder: "alpha" },
      onResult: async () => {},
      onRequest: async () => ({ ok: false, text: "" }),
    });
    const res = await proc.done;
    expect(res.status).toBe("error");
    expect(res.error).toContain("unsafe group folder");
    expect(fake.calls()).toEqual([]);
  });

  test("old per-run stderr logs are pruned", async () => {
    const logs = join(root, "data", "logs", "alpha");
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

  test("a symlink planted where the host writes is never followed", async () => {
    // Even a pre-existing log dir entry that is a symlink: the log file is created O_EXCL|O_NOFOLLOW
    // in a host-only dir; the group folder's planted logs/ link is simply not used any more.
    const target = join(root, "victim.txt");
    writeFileSync(target, "untouched");
    mkdirSync(join(root, "groups", "alpha"), { recursive: true });
    symlinkSync(target, join(root, "groups", "alpha", "CLAUDE.md"));
    symlinkSync(root, join(root, "groups", "alpha", "logs"));
    await run("ok");
    expect(readFileSync(target, "utf8")).toBe("untouched");
    expect(readdirSync(root).filter((f) => f.startsWith("container-"))).toEqual([]);
  });

  test("output over maxOutputBytes without a result kills the container", async () => {
    const { result, proc } = await run("flood", group(), { maxOutputBytes: 64 * 1024 });
    expect(result.status).toBe("error");
    expect(result.error).toContain("output exceeded 65536 bytes");
    expect(fake.calls().some((c) => c.args.join(" ") === `rm -f ${proc.name}`)).toBe(true);
  });

  test("warm container: follow-ups are input frames answered in their own turns; idle timeout closes it", async () => {
    fake.setMode("warm");
    const r = runner({ idleTimeoutMs: 400 });
    const g = group();
    const { proc: p, outputs } = startRun(r, g);
    const proc = await p;
    await until(() => outputs.length === 1, "first output");
    expect(r.running().map((c) => c.name)).toEqual([proc.name]);
    expect(r.running()[0]).toMatchObject({ groupFolder: "alpha", chatJid: "web:alpha" });
    expect(proc.sendInput({ id: "i1", text: "second" })).toBe(true);
    await until(() => outputs.length === 2, "follow-up answer");
    expect(proc.sendInput({ id: "i2", text: "third", thread: "t" })).toBe(true);
    await until(() => outputs.length === 3, "second follow-up answer");
    expect(outputs.map((o) => [o.result, o.consumed])).toEqual([
      ["hi hello", ["i0"]],
      ["echo second", ["i1"]],
      ["echo third", ["i2"]],
    ]);
    const res = await proc.done; // idle timeout → close frame → agent exits
    expect(res).toMatchObject({ status: "success", outputs: 3, newSessionId: "sess-w" });
    expect(proc.sendInput({ id: "late", text: "too late" })).toBe(false);
    expect(r.running()).toEqual([]);
    const frames = fake
      .stdin()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(frames.map((f) => f.type)).toEqual(["start", "input", "input", "close"]);
    expect(frames[2]).toEqual({ type: "input", id: "i2", text: "third", thread: "t" });
  });

  test("close() asks the agent to finish; sendInput then refuses", async () => {
    fake.setMode("warm");
    const r = runner();
    const g = group();
    const { proc: p, outputs } = startRun(r, g);
    const proc = await p;
    await until(() => outputs.length === 1, "first output");
    proc.close();
    expect(proc.sendInput({ id: "x", text: "x" })).toBe(false);
    expect((await proc.done).status).toBe("success");
  });

  test("an agent that ignores close is removed after the grace period", async () => {
    fake.setMode("ignore-close");
    const r = runner({ idleTimeoutMs: 100 });
    const g = group();
    const { proc: p } = startRun(r, g);
    const proc = await p;
    const res = await proc.done;
    expect(res).toMatchObject({ status: "success", outputs: 1 });
    expect(fake.calls().some((c) => c.args.join(" ") === `rm -f ${proc.name}`)).toBe(true);
  });

  test("a request frame is answered with a reply frame of the same reqId", async () => {
    const { result, outputs, requests } = await run("request");
    expect(result.status).toBe("success");
    expect(requests).toEqual([
      { type: "request", reqId: "r1", turn: ["i0"], request: { type: "list_tasks" } },
    ]);
    expect(outputs.map((o) => o.result)).toEqual(["reply true fine"]);
  });

  test("stopAll removes running containers and resolves their runs", async () => {
    fake.setMode("hang");
    const r = runner();
    const g = group();
    const proc = await startRun(r, g).proc;
    await until(() => existsSync(join(fake.dir, `${proc.name}.pid`)), "fake container up");
    await r.stopAll();
    const res = await proc.done;
    expect(res).toMatchObject({ status: "error", failure: "stopped", error: "stopped: shutdown" });
    expect(r.running()).toEqual([]);
  });

  test("a missing engine binary is a clear engine failure, never a throw", async () => {
    const r = runner({ runtime: join(root, "no-such-docker") });
    const g = group();
    const proc = await startRun(r, g).proc;
    const res = await proc.done;
    expect(res).toMatchObject({ status: "error", failure: "engine" });
    expect(res.error).toContain("container engine not reachable");
    expect(res.error).toContain("run ngb doctor");
    expect(await r.cleanupOrphans()).toBe(0);
    expect(tokens.revoked).toEqual(tokens.issued);
    expect(r.engine().ok).toBe(false);
  });

  test("a daemon that refuses is an engine failure; a probe that answers clears it", async () => {
    const { result, r } = await run("engine-down");
    expect(result).toMatchObject({ status: "error", failure: "engine" });
    expect(result.error).toMatch(
      /^container engine not reachable: Cannot connect to the Docker daemon.*run ngb doctor$/,
    );
    expect(r.engine().ok).toBe(false);
    expect((await r.probeEngine()).ok).toBe(false);
  });

  test("a missing image says how to build it", async () => {
    const { result } = await run("no-image");
    expect(result.error).toBe("image ngb-agent:latest not found: build it with ngb image build");
    expect(result.failure).toBe("setup");
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
    writeFileSync(allowFile, JSON.stringify({ allowedRoots: [{ path: home, allowReadWrite: true }] }), {
      mode: 0o600,
    });
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
  const idle = () => ({
    stdin: { write() {}, end() {} },
    stdout: new Response("").body!,
    stderr: new Response("").body!,
    exited: Promise.resolve(0),
    kill() {},
  });

  test("stderr goes to the host-only log, capped", async () => {
    const noisy: SpawnFn = (c) =>
      c[1] !== "run"
        ? idle()
        : {
            stdin: { write() {}, end() {} },
            stdout: new Response(formatFrame(result_("x"))).body!,
            stderr: new Response("e".repeat(5000)).body!,
            exited: Promise.resolve(0),
            kill() {},
          };
    const r = runner({}, { spawn: noisy, maxStderrBytes: 1000 });
    const proc = await startRun(r, group()).proc;
    expect((await proc.done).status).toBe("success");
    const dir = join(root, "data", "logs", "alpha");
    const text = readFileSync(join(dir, readdirSync(dir)[0]!), "utf8");
    expect(text.startsWith("e".repeat(1000))).toBe(true);
    expect(text).toContain("[ngb: log truncated at 1000 bytes]");
    expect(text.length).toBeLessThan(1100);
  });

  test("markers split into single bytes still parse; stdin gets the start frame", async () => {
    let stdinText = "";
    let cmd: string[] = [];
    const spawn: SpawnFn = (c) => {
      if (c[1] !== "run") return idle();
      cmd = c;
      const bytes = new TextEncoder().encode(`junk\n${formatFrame(result_("ü"))}`);
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
    const g = group();
    const { proc: p, outputs } = startRun(r, g, { prompt: "p" });
    expect((await (await p).done).status).toBe("success");
    expect(outputs).toEqual([result_("ü")]);
    expect(cmd[0]).toBe("podman");
    const first = JSON.parse(stdinText.split("\n")[0]!);
    expect(first.type).toBe("start");
    expect(first.input.prompt).toBe("p");
  });
});
