import { afterEach, beforeEach, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { Config } from "../config/index.ts";
import { silentLogger } from "../log/index.ts";
import type { RegisteredGroup } from "../store/index.ts";
import { scripted } from "../../test/fakes/scripted-cli.ts";
import type { SpawnFn } from "./cli.ts";
import { createDockerRunner } from "./docker-runner.ts";
import { createVolumeManager, VolumeError } from "./volumes.ts";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ngb-volumes-"));
  mkdirSync(join(root, "groups", "fam"), { recursive: true });
  mkdirSync(join(root, "groups", "global"), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const sub = (cmd: string[]) => cmd.slice(1, 3).join(" ");

function manager(spawn: SpawnFn) {
  return createVolumeManager({
    spawn,
    bin: "docker",
    image: "ngb-agent:test",
    instanceId: "inst",
    env: () => ({}),
    stateDir: join(root, "data", "sync"),
    groupsDir: join(root, "groups"),
    log: silentLogger(),
    clock: () => new Date(0),
  });
}

test("missing volumes are created with labels, then host memory files go in once", async () => {
  writeFileSync(join(root, "groups", "fam", "CLAUDE.md"), "# fam\n");
  writeFileSync(join(root, "groups", "global", "CLAUDE.md"), "# global\n");
  const existing = new Set<string>();
  const { spawn, calls } = scripted((cmd) => {
    if (sub(cmd) === "volume inspect") {
      const names = cmd.slice(5);
      return names.every((n) => existing.has(n)) ? { code: 0 } : { code: 1, stderr: "Error: No such volume" };
    }
    if (sub(cmd) === "volume create") existing.add(cmd.at(-1) as string);
    return { code: 0, stdout: "ok\n" };
  });
  const m = manager(spawn);
  const names = await m.prepare("fam", false);
  expect([...existing].sort()).toEqual([names.global, names.group, names.session].sort());
  const create = calls.find((c) => sub(c.cmd) === "volume create" && c.cmd.at(-1) === names.group)!;
  expect(create.cmd).toContain("ngb.group=fam");
  expect(create.cmd).toContain("ngb.instance=inst");
  const puts = calls.filter((c) => c.cmd[1] === "run");
  expect(puts).toHaveLength(2); // global (whole) and the group's CLAUDE.md
  for (const p of puts) {
    expect(p.cmd.join(" ")).toContain("--network none");
    expect(p.cmd.join(" ")).not.toContain(root); // no host path reaches the engine
  }
  const groupPut = JSON.parse(puts[1]!.stdin) as { files: { path: string; b64: string }[] };
  expect(groupPut.files.map((f) => [f.path, Buffer.from(f.b64, "base64").toString()])).toEqual([
    ["CLAUDE.md", "# fam\n"],
  ]);
  // Nothing changed: the next run only checks the volumes.
  calls.length = 0;
  await m.prepare("fam", false);
  expect(calls.map((c) => sub(c.cmd))).toEqual(["volume inspect"]);
});

test("an engine that is gone is an engine failure; a full disk is a setup error that says so", async () => {
  const down = manager(
    scripted(() => ({
      code: 1,
      stderr: "Cannot connect to the Docker daemon at tcp://x:2375. Is the docker daemon running?",
    })).spawn,
  );
  const err = await down.prepare("fam", false).catch((e) => e);
  expect(err).toBeInstanceOf(VolumeError);
  expect(err.failure).toBe("engine");

  writeFileSync(join(root, "groups", "fam", "CLAUDE.md"), "# fam\n");
  const full = manager(
    scripted((cmd) =>
      cmd[1] === "run"
        ? { code: 1, stderr: "write /workspace/group/CLAUDE.md: no space left on device" }
        : { code: 0 },
    ).spawn,
  );
  const err2 = await full.prepare("fam", false).catch((e) => e);
  expect(err2.failure).toBe("setup");
  expect(err2.message).toContain("disk is full");
});

test("collect: the agent's copy reaches the host; a host edit made meanwhile is kept aside; no symlink followed", async () => {
  const dir = join(root, "groups", "fam");
  writeFileSync(join(dir, "CLAUDE.md"), "v1");
  let volume: { path: string; b64: string }[] = [];
  const { spawn } = scripted((cmd) =>
    cmd.includes("NGB_SYNC_MODE=get")
      ? { code: 0, stdout: JSON.stringify(volume) }
      : { code: 0, stdout: "ok\n" },
  );
  const m = manager(spawn);
  await m.prepare("fam", false);
  const outside = join(root, "outside.md");
  writeFileSync(outside, "precious");
  symlinkSync(outside, join(dir, "notes.md")); // a symlink where the agent's new file lands
  writeFileSync(join(dir, "CLAUDE.md"), "host edit");
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  volume = [
    { path: "CLAUDE.md", b64: b64("agent edit") },
    { path: "notes.md", b64: b64("agent notes") },
    { path: "../escape.md", b64: b64("x") },
    { path: "logs/x.md", b64: b64("x") },
  ];
  const r = await m.collect("fam");
  expect(r).toEqual({ written: 2, removed: 0, conflicts: 1 });
  expect(readFileSync(join(dir, "CLAUDE.md"), "utf8")).toBe("agent edit");
  expect(readFileSync(join(dir, "CLAUDE.md.conflict-1970-01-01T00-00-00-000Z"), "utf8")).toBe("host edit");
  expect(readFileSync(join(dir, "notes.md"), "utf8")).toBe("agent notes");
  expect(readFileSync(outside, "utf8")).toBe("precious");
  expect(existsSync(join(root, "groups", "escape.md"))).toBe(false);
  expect(readdirSync(dir).some((f) => f.startsWith(".ngb-sync-"))).toBe(false);
});

test("the runner: a volume failure ends the run with that failure kind and starts no agent", async () => {
  const { spawn, calls } = scripted(() => ({
    code: 1,
    stderr: "error during connect: ssh: connection refused",
  }));
  const config = v.parse(Config, { container: { transport: "stdio" } });
  const r = createDockerRunner({
    config,
    log: silentLogger(),
    paths: { groupsDir: join(root, "groups"), dataDir: join(root, "data") },
    proxy: { socketPath: join(root, "p.sock"), issue: () => "t", revoke: () => {} },
    instanceId: "inst",
    spawn,
    env: {},
  });
  const group = {
    jid: "web:f",
    name: "F",
    folder: "fam",
    isMain: false,
    requiresTrigger: false,
    containerConfig: null,
    addedAt: 0,
    triggerPattern: null,
  } as unknown as RegisteredGroup;
  const proc = await r.start({
    group,
    input: {
      prompt: "hi",
      inputId: "i0",
      groupFolder: "fam",
      chatJid: "web:f",
      isMain: false,
      assistantName: "Andy",
    },
    onResult: async () => {},
    onRequest: async () => ({ ok: true, text: "" }),
  });
  const result = await proc.done;
  expect(result).toMatchObject({ status: "error", failure: "engine" });
  expect(r.engine().ok).toBe(false);
  expect(calls.some((c) => c.cmd[1] === "run" && c.cmd.includes("ngb-agent:latest"))).toBe(false);
  expect(r.running()).toEqual([]);
});

test("the runner: a run stopped while its volumes are prepared never starts its agent", async () => {
  const { spawn, calls } = scripted(
    () => ({ code: 0, stdout: "ok\n" }),
    (cmd) =>
      cmd[1] === "volume"
        ? {
            onStdin() {},
          }
        : undefined,
  );
  // `volume inspect` never answers until killed: the run is stuck preparing.
  const config = v.parse(Config, { container: { transport: "stdio" } });
  const r = createDockerRunner({
    config,
    log: silentLogger(),
    paths: { groupsDir: join(root, "groups"), dataDir: join(root, "data") },
    proxy: { socketPath: join(root, "p.sock"), issue: () => "t", revoke: () => {} },
    instanceId: "inst",
    spawn,
    env: {},
    closeGraceMs: 50,
  });
  const group = {
    jid: "web:f",
    name: "F",
    folder: "fam",
    isMain: false,
    requiresTrigger: false,
    containerConfig: null,
    addedAt: 0,
    triggerPattern: null,
  } as unknown as RegisteredGroup;
  const started = r.start({
    group,
    input: {
      prompt: "hi",
      inputId: "i0",
      groupFolder: "fam",
      chatJid: "web:f",
      isMain: false,
      assistantName: "Andy",
    },
    onResult: async () => {},
    onRequest: async () => ({ ok: true, text: "" }),
  });
  await Bun.sleep(30);
  await r.stopAll();
  const proc = await started;
  const result = await proc.done;
  expect(result).toMatchObject({ status: "error", failure: "stopped" });
  expect(
    calls.some((c) => c.cmd.includes("ngb-agent:latest") && c.cmd.includes("NGB_PROXY_TRANSPORT=stdio")),
  ).toBe(false);
});
