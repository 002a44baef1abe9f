import { expect, test } from "bun:test";
import { adviseTransport, classifyEndpoint, engineEndpoint } from "./engine-location.ts";

test("endpoints on this machine and elsewhere", () => {
  for (const e of [
    "",
    "unix:///var/run/docker.sock",
    "npipe:////./pipe/docker_engine",
    "tcp://127.0.0.1:2375",
    "tcp://localhost:2376",
    "tcp://[::1]:2375",
  ])
    expect(classifyEndpoint(e).local).toBe(true);
  for (const e of ["ssh://ops@build-1", "tcp://10.0.0.5:2376", "tcp://docker.example.com:2376", "weird"])
    expect(classifyEndpoint(e).local).toBe(false);
});

test("a remote engine with the mounts transport is a failure with the fix", () => {
  const remote = classifyEndpoint("ssh://ops@build-1");
  expect(adviseTransport("mounts", remote)).toMatchObject({
    status: "fail",
    fix: expect.stringContaining("stdio"),
  });
  expect(adviseTransport("stdio", remote).status).toBe("ok");
  expect(adviseTransport("mounts", classifyEndpoint("unix:///run/docker.sock")).status).toBe("ok");
});

test("DOCKER_HOST wins over the docker context", async () => {
  const calls: string[][] = [];
  const inspect = async (cmd: string[]) => {
    calls.push(cmd);
    return { code: 0, out: "ssh://ctx-host\n" };
  };
  expect(await engineEndpoint("docker", { DOCKER_HOST: "tcp://1.2.3.4:2376" }, inspect)).toBe(
    "tcp://1.2.3.4:2376",
  );
  expect(calls).toHaveLength(0);
  expect(await engineEndpoint("docker", {}, inspect)).toBe("ssh://ctx-host");
});

test("the runner refuses bind mounts towards a remote DOCKER_HOST with the fix, before any docker command", async () => {
  const v = await import("valibot");
  const { Config } = await import("../config/index.ts");
  const { silentLogger } = await import("../log/index.ts");
  const { createDockerRunner } = await import("./docker-runner.ts");
  const calls: string[][] = [];
  const r = createDockerRunner({
    config: v.parse(Config, {}),
    log: silentLogger(),
    paths: { groupsDir: "/nonexistent/g", dataDir: "/nonexistent/d" },
    proxy: { socketPath: "/nonexistent/p.sock", issue: () => "t", revoke: () => {} },
    instanceId: "i",
    env: { DOCKER_HOST: "ssh://ops@far-away" },
    spawn: (cmd) => {
      calls.push(cmd);
      throw new Error("no docker here");
    },
  });
  const proc = await r.start({
    group: {
      jid: "web:a",
      name: "a",
      folder: "a",
      triggerPattern: null,
      requiresTrigger: false,
      isMain: false,
      containerConfig: null,
      addedAt: 0,
    },
    input: {
      prompt: "x",
      inputId: "i0",
      groupFolder: "a",
      chatJid: "web:a",
      isMain: false,
      assistantName: "A",
    },
    onResult: async () => {},
    onRequest: async () => ({ ok: true, text: "" }),
  });
  const result = await proc.done;
  expect(result).toMatchObject({ status: "error", failure: "setup" });
  expect(result.error).toContain('container.transport to "stdio"');
  expect(calls).toEqual([]);
});
