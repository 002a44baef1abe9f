/**
 * The docker runner against a real engine (skipped without one: run `scripts/engine.sh start`
 * and set DOCKER_HOST). Uses a tiny busybox image imported in setup whose entrypoint is a shell
 * "agent" speaking the marker protocol, so limits, mounts, timeouts, warm follow-ups and orphan
 * cleanup are checked on real containers without the heavy agent image.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { Config } from "../src/config/index.ts";
import { type AgentRunner, createDockerRunner } from "../src/container/index.ts";
import { silentLogger } from "../src/log/index.ts";
import type { ResultFrame } from "../src/protocol/index.ts";
import { type CredentialProxy, createCredentialProxy } from "../src/proxy/index.ts";
import type { GroupContainerConfig, RegisteredGroup } from "../src/store/index.ts";
import { agentImageAvailable, engineAvailable, testAgentImage } from "./support/engine.ts";
import { until } from "./support/wait.ts";

const ENGINE = await engineAvailable();

// The shell agent (protocol v2: NDJSON frames on stdin). Modes by prompt: probe (report mounts,
// limits, user, read-only root), hang, warm (answer input frames, exit on close).
const AGENT_SH = `#!/bin/sh
read -r start
prompt=$(echo "$start" | sed 's/.*"prompt":"\\([^"]*\\)".*/\\1/')
iid=$(echo "$start" | sed 's/.*"inputId":"\\([^"]*\\)".*/\\1/')
out() { printf -- '---NGB_OUTPUT_START---\\n{"type":"result","status":"success","result":"%s","consumed":[%s],"newSessionId":"sh-1"}\\n---NGB_OUTPUT_END---\\n' "$1" "$2"; }
try() { if sh -c "$1" >/dev/null 2>&1; then echo ok; else echo fail; fi; }
case "$prompt" in
probe)
  g=$(try 'echo x > /workspace/group/written')
  gl=$(try 'echo x > /workspace/global/written')
  grw=$(try 'echo x > /workspace/groups/written')
  grr=$(try 'ls /workspace/groups/other-group/marker')
  pr=$(try 'ls /workspace/project')
  ipc=$(try 'ls /workspace/ipc/input')
  cl=$(try 'echo x > /home/agent/.claude/written')
  ex=$(try 'echo x > /workspace/extra/shared/written')
  exr=$(try 'cat /workspace/extra/shared/hello')
  sock=$(try '[ -d /run/ngb ]')
  rootfs=$(try 'echo x > /etc/written')
  tmp=$(try 'echo x > /tmp/written')
  mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)
  pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)
  tok=$([ -n "$NGB_PROXY_TOKEN" ] && echo set || echo unset)
  echo "probe running as $(id -u)" >&2
  out "group=$g global=$gl groupswrite=$grw groupsread=$grr project=$pr ipc=$ipc claude=$cl extra=$ex extraread=$exr run=$sock rootfs=$rootfs tmp=$tmp mem=$mem pids=$pids uid=$(id -u) fsize=$(ulimit -f) token=$tok" "\\"$iid\\""
  ;;
hang)
  out "started" ""
  sleep 600
  ;;
warm)
  out "ready" "\\"$iid\\""
  while read -r line; do
    case "$line" in
    *'"type":"close"'*) exit 0 ;;
    *'"type":"input"'*)
      id=$(echo "$line" | sed 's/.*"id":"\\([^"]*\\)".*/\\1/')
      text=$(echo "$line" | sed 's/.*"text":"\\([^"]*\\)".*/\\1/')
      out "echo $text" "\\"$id\\"" ;;
    esac
  done
  ;;
*)
  out "unknown prompt" "\\"$iid\\""
  ;;
esac
`;

const IMAGE = `ngb-test-shagent:${createHash("sha256").update(AGENT_SH).digest("hex").slice(0, 10)}`;

function sh(cmd: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** Imports a busybox-only image whose entrypoint is AGENT_SH (about a second, once). */
function ensureImage(): void {
  if (sh(["docker", "image", "inspect", IMAGE]).code === 0) return;
  const dir = mkdtempSync(join(tmpdir(), "ngb-shimage-"));
  try {
    for (const d of ["bin", "tmp", "etc", "workspace", "home/agent", "run"])
      mkdirSync(join(dir, d), { recursive: true });
    chmodSync(join(dir, "tmp"), 0o1777);
    chmodSync(join(dir, "home/agent"), 0o1777);
    writeFileSync(join(dir, "bin/busybox"), readFileSync(Bun.which("busybox")!));
    chmodSync(join(dir, "bin/busybox"), 0o755);
    for (const applet of ["sh", "cat", "sed", "sleep", "ls", "id", "echo", "printf", "rm", "mkdir", "touch"])
      symlinkSync("busybox", join(dir, "bin", applet));
    writeFileSync(
      join(dir, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000::/home/agent:/bin/sh\n",
    );
    writeFileSync(join(dir, "etc/group"), "root:x:0:\nagent:x:1000:\n");
    writeFileSync(join(dir, "agent.sh"), AGENT_SH);
    chmodSync(join(dir, "agent.sh"), 0o755);
    const tar = Bun.spawnSync(["tar", "-C", dir, "-c", "."], { stdout: "pipe" });
    const imp = Bun.spawnSync(
      ["docker", "import", "-c", 'ENTRYPOINT ["/bin/sh", "/agent.sh"]', "-c", "ENV PATH=/bin", "-", IMAGE],
      { stdin: tar.stdout, stdout: "pipe", stderr: "pipe" },
    );
    if (imp.exitCode !== 0) throw new Error(`docker import failed: ${imp.stderr.toString()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let root: string;
let proxy: CredentialProxy;
const runners: AgentRunner[] = [];

beforeAll(() => {
  if (!ENGINE) return;
  ensureImage();
  root = mkdtempSync(join(tmpdir(), "ngb-engine-"));
  proxy = createCredentialProxy({
    config: v.parse(Config, {}),
    store: { usage: { add() {} } },
    log: silentLogger(),
    socketPath: join(root, "data", "proxy", "proxy.sock"),
  });
});
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stopAll();
});
afterAll(async () => {
  if (!ENGINE) return;
  await proxy.stop();
  rmSync(root, { recursive: true, force: true });
});

function makeRunner(container: Record<string, unknown> = {}, instanceId = "engine-test") {
  const r = createDockerRunner({
    config: v.parse(Config, {
      container: { image: IMAGE, memory: "64m", cpus: "0.5", pidsLimit: 50, ...container },
    }),
    log: silentLogger(),
    paths: { groupsDir: join(root, "groups"), dataDir: join(root, "data") },
    proxy,
    instanceId,
    closeGraceMs: 2000,
  });
  runners.push(r);
  return r;
}

function group(folder: string, isMain = false, cc: GroupContainerConfig | null = null): RegisteredGroup {
  return {
    jid: `web:${folder}`,
    name: folder,
    folder,
    triggerPattern: null,
    requiresTrigger: false,
    isMain,
    containerConfig: cc,
    addedAt: 0,
  };
}

async function start(r: AgentRunner, g: RegisteredGroup, prompt: string) {
  const outputs: ResultFrame[] = [];
  const proc = await r.start({
    group: g,
    input: {
      prompt,
      inputId: "i0",
      groupFolder: g.folder,
      chatJid: g.jid,
      isMain: g.isMain,
      assistantName: "Andy",
    },
    onResult: async (o) => void outputs.push(o),
    onRequest: async () => ({ ok: false, text: "no" }),
  });
  return { proc, outputs };
}

function fields(result: string | null): Record<string, string> {
  return Object.fromEntries((result ?? "").split(" ").map((kv) => kv.split("=") as [string, string]));
}

function containersNamed(name: string): string[] {
  return sh(["docker", "ps", "-a", "--filter", `name=^${name}$`, "--format", "{{.Names}}"])
    .out.trim()
    .split("\n")
    .filter(Boolean);
}

describe.skipIf(!ENGINE)("docker runner on a real engine", () => {
  test("main group: rw group, ro global and other groups, read-only root, no ipc/project, limits, unprivileged uid", async () => {
    mkdirSync(join(root, "groups", "other-group"), { recursive: true });
    writeFileSync(join(root, "groups", "other-group", "marker"), "x");
    const r = makeRunner();
    const { proc, outputs } = await start(r, group("main", true), "probe");
    const result = await proc.done;
    expect(result).toMatchObject({ status: "success", exitCode: 0, outputs: 1, newSessionId: "sh-1" });
    expect(outputs[0]!.consumed).toEqual(["i0"]);
    const f = fields(outputs[0]!.result);
    expect(f).toMatchObject({
      group: "ok",
      global: "fail",
      groupswrite: "fail",
      groupsread: "ok",
      project: "fail",
      ipc: "fail",
      claude: "ok",
      run: "ok",
      rootfs: "fail",
      tmp: "ok",
      mem: String(64 * 1024 * 1024),
      pids: "50",
      token: "set",
      uid: "10001",
    });
    expect(Number(f.fsize)).toBeGreaterThan(0);
    expect(readFileSync(join(root, "groups", "main", "written"), "utf8")).toBe("x\n");
    expect(containersNamed(proc.name)).toEqual([]);
  });

  test("non-main group: no other groups; allowlisted extra mount forced read-only", async () => {
    const shared = join(root, "shared");
    mkdirSync(shared, { recursive: true });
    writeFileSync(join(shared, "hello"), "hi");
    const allow = join(root, "allow.json");
    writeFileSync(allow, JSON.stringify({ allowedRoots: [{ path: shared, allowReadWrite: true }] }), {
      mode: 0o600,
    });
    const r = makeRunner({ mountAllowlistPath: allow });
    const g = group("other", false, { additionalMounts: [{ hostPath: shared, readonly: false }] });
    const { proc, outputs } = await start(r, g, "probe");
    expect((await proc.done).status).toBe("success");
    const f = fields(outputs[0]!.result);
    expect(f).toMatchObject({
      group: "ok",
      groupsread: "fail",
      extraread: "ok",
      extra: "fail",
      uid: "10001",
    });
  });

  test("a configured --user can write its own folders", async () => {
    const r = makeRunner({ user: "1000:1000" });
    const { proc, outputs } = await start(r, group("asuser"), "probe");
    expect((await proc.done).status).toBe("success");
    expect(fields(outputs[0]!.result)).toMatchObject({ uid: "1000", group: "ok", claude: "ok" });
  });

  test("warm container answers follow-ups; idle timeout closes it", async () => {
    const r = makeRunner({ idleTimeoutMs: 1500 });
    const { proc, outputs } = await start(r, group("warm"), "warm");
    await until(() => outputs.length === 1, "first output", 15_000);
    expect(proc.sendInput({ id: "i1", text: "one" })).toBe(true);
    await until(() => outputs.length === 2, "answer to follow-up", 15_000);
    expect(proc.sendInput({ id: "i2", text: "two" })).toBe(true);
    await until(() => outputs.length === 3, "answer to second follow-up", 15_000);
    expect(outputs.map((o) => [o.result, o.consumed])).toEqual([
      ["ready", ["i0"]],
      ["echo one", ["i1"]],
      ["echo two", ["i2"]],
    ]);
    const result = await proc.done;
    expect(result).toMatchObject({ status: "success", exitCode: 0, outputs: 3 });
    expect(containersNamed(proc.name)).toEqual([]);
  });

  test("the hard timeout removes the container", async () => {
    const r = makeRunner();
    const { proc } = await start(r, group("slow", false, { timeoutMs: 2000 }), "hang");
    const result = await proc.done;
    expect(result.status).toBe("timeout");
    expect(containersNamed(proc.name)).toEqual([]);
  });

  test("orphans left by an earlier host process are removed by the next one; other installations' are kept", async () => {
    const old = makeRunner({}, "install-a");
    const other = makeRunner({}, "install-b");
    const a = await start(old, group("orphan"), "hang");
    const b = await start(other, group("neighbour"), "hang");
    await until(() => a.outputs.length === 1 && b.outputs.length === 1, "containers up", 15_000);
    expect(containersNamed(a.proc.name)).toEqual([a.proc.name]);
    // A restarted host of installation A: same instance id, fresh runner.
    const restarted = makeRunner({}, "install-a");
    expect(await restarted.cleanupOrphans()).toBe(1);
    expect(containersNamed(a.proc.name)).toEqual([]);
    expect((await a.proc.done).status).toBe("error");
    expect(containersNamed(b.proc.name)).toEqual([b.proc.name]);
  });
});

const AGENT_IMAGE = testAgentImage();
const HAS_AGENT_IMAGE = ENGINE && (await agentImageAvailable(AGENT_IMAGE));

describe.skipIf(!HAS_AGENT_IMAGE)("the real agent image through the runner and the credential proxy", () => {
  test("cold run and a warm follow-up answer from the fake model; usage is recorded per group", async () => {
    const { startFakeAnthropic, lastUserText } = await import("./fakes/anthropic.ts");
    const { openStore } = await import("../src/store/index.ts");
    const fake = startFakeAnthropic({
      script: (req) => ({
        text: `model says: ${lastUserText(req)}`,
        usage: { inputTokens: 10, outputTokens: 3 },
      }),
    });
    const dir = mkdtempSync(join(tmpdir(), "ngb-agentimg-"));
    const store = openStore(join(dir, "ngb.db"));
    const config = v.parse(Config, {
      anthropic: { apiKey: "sk-test-real-key", baseUrl: fake.url },
      container: { image: AGENT_IMAGE },
    });
    const realProxy = createCredentialProxy({
      config,
      store,
      log: silentLogger(),
      socketPath: join(dir, "data", "proxy", "proxy.sock"),
    });
    const r = createDockerRunner({
      config,
      log: silentLogger(),
      paths: { groupsDir: join(dir, "groups"), dataDir: join(dir, "data") },
      proxy: realProxy,
      instanceId: "agent-image-test",
    });
    runners.push(r);
    try {
      const { proc, outputs } = await start(r, group("agentimg"), "first question");
      await until(() => outputs.length === 1, "first agent result", 60_000);
      expect(outputs[0]).toMatchObject({ status: "success" });
      expect(outputs[0]!.result).toContain("model says: first question");
      expect(proc.sendInput({ id: "i1", text: "second question" })).toBe(true);
      await until(() => outputs.length === 2, "follow-up result", 60_000);
      expect(outputs[1]!.result).toContain("model says: second question");
      proc.close();
      const result = await proc.done;
      expect(result.status).toBe("success");
      expect(result.newSessionId).toBeString();
      // The real key reached the upstream; the container only ever held its own token.
      expect(fake.requests[0]!.headers["x-api-key"]).toBe("sk-test-real-key");
      const usage = store.usage.list().find((u) => u.groupFolder === "agentimg");
      expect(usage?.requests).toBeGreaterThanOrEqual(2);
      expect(usage?.outputTokens).toBeGreaterThanOrEqual(6);
    } finally {
      await r.stopAll();
      await realProxy.stop();
      await fake.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
