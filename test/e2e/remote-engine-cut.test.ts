/**
 * A remote engine that disappears mid-run (`container.transport: "stdio"`): ngb talks to the
 * second engine (NGB_TEST_REMOTE_DOCKER_HOST, see remote-engine.test.ts) through a unix-socket
 * relay the test cuts while an agent is answering. The run fails as an engine failure, ngb waits
 * for the engine, and once the relay is back the agent left behind is removed and the message is
 * answered exactly once. Skipped (saying why) without the second engine.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { instanceIdOf } from "../../src/runtime/instance.ts";
import { type FakeAnthropic, startFakeAnthropic } from "../fakes/anthropic.ts";
import type { ServeHandle } from "../support/ngb.ts";
import { until } from "../support/wait.ts";
import { chooseBinary, openWebChat, serveEnv, startServe } from "./serve-rig.ts";

const REMOTE = process.env.NGB_TEST_REMOTE_DOCKER_HOST ?? "";
const IMAGE = process.env.NGB_TEST_AGENT_IMAGE || "ngb-agent:latest";

function docker(args: string[]): { code: number; out: string } {
  try {
    const r = Bun.spawnSync(["docker", ...args], { env: { ...process.env, DOCKER_HOST: REMOTE } });
    return { code: r.exitCode, out: new TextDecoder().decode(r.stdout) };
  } catch (err) {
    return { code: -1, out: (err as Error).message };
  }
}

const READY = REMOTE.startsWith("unix://") && docker(["image", "inspect", IMAGE]).code === 0;
if (!READY)
  process.stderr.write(
    "[e2e engine cut] skipped: needs NGB_TEST_REMOTE_DOCKER_HOST=unix://… with the image\n",
  );
else process.stderr.write(`[e2e engine cut] ngb: ${chooseBinary()}\n`);

/** A unix-socket relay to the engine that can be cut (connections destroyed, socket gone) and restored. */
function relay(listenPath: string, target: string) {
  let server: Server | undefined;
  const open = new Set<Socket>();
  const start = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(target);
        for (const s of [client, upstream]) {
          open.add(s);
          s.on("close", () => open.delete(s));
          s.on("error", () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.listen(listenPath, resolve);
    });
  return {
    start,
    cut: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        open.clear();
        server?.close(() => resolve());
      }),
  };
}

describe.skipIf(!READY)("a remote engine that disappears mid-run (stdio transport)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ngb-e2e-cut-"));
  let fake: FakeAnthropic;
  let serve: ServeHandle | undefined;
  const instance = instanceIdOf({ dataDir: join(dir, "data") });

  afterAll(async () => {
    await serve?.stop();
    await fake?.stop();
    const left = docker(["ps", "-aq", "--filter", `label=ngb.instance=${instance}`])
      .out.split("\n")
      .filter(Boolean);
    if (left.length) docker(["rm", "-f", ...left]);
    const vols = docker(["volume", "ls", "-q", "--filter", `label=ngb.instance=${instance}`])
      .out.split("\n")
      .filter(Boolean);
    if (vols.length) docker(["volume", "rm", "-f", ...vols]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("the run fails as the engine's, ngb waits, then the agent left behind is removed and the message answered once", async () => {
    let hang = true;
    fake = startFakeAnthropic({
      script: () =>
        hang ? { text: "too late", delayMs: 120_000 } : { text: "answered after the engine came back" },
    });
    const sock = join(dir, "engine.sock");
    const r = relay(sock, REMOTE.slice("unix://".length));
    await r.start();
    serve = await startServe({
      cwd: dir,
      env: serveEnv(dir, fake, {
        DOCKER_HOST: `unix://${sock}`,
        NGB_CONTAINER_TRANSPORT: "stdio",
        NGB_CONTAINER_IMAGE: IMAGE,
        NGB_RETRY_BASE_MS: "500",
      }),
      timeoutMs: 30_000,
    });
    const chat = await openWebChat(serve);
    expect((await chat.post("are you there?")).status).toBe(201);
    await fake.waitForRequests(1, 60_000);
    const agents = () =>
      docker(["ps", "-a", "--filter", `label=ngb.instance=${instance}`, "--format", "{{.Names}}"])
        .out.split("\n")
        .filter((n) => n && !n.startsWith("ngb-sync-"));
    const before = agents();
    expect(before.length).toBe(1);

    await r.cut();
    await until(() => /container engine unreachable/.test(serve?.logs() ?? ""), {
      what: "ngb noticing the engine is gone",
      timeoutMs: 30_000,
    }).catch((err) => {
      throw new Error(`${err.message}\n${serve?.logs().slice(-4000)}`);
    });
    // The agent keeps running on the engine meanwhile: ngb cannot reach it to remove it.
    expect(agents()).toEqual(before);
    hang = false;
    await r.start();
    await until(
      async () =>
        (await chat.history()).some(
          (m) => m.from === "assistant" && m.text === "answered after the engine came back",
        ),
      { what: "the answer after the engine came back", timeoutMs: 90_000, intervalMs: 200 },
    ).catch((err) => {
      throw new Error(`${err.message}\n${serve?.logs().slice(-5000)}`);
    });
    expect(serve.logs()).toContain("container engine reachable again");
    // The agent cut off from ngb was removed once the engine answered again.
    await until(() => !agents().includes(before[0] as string), {
      what: "the old agent removed",
      timeoutMs: 30_000,
    });
    const answers = (await chat.history()).filter((m) => m.from === "assistant");
    expect(answers.map((m) => m.text)).toEqual(["answered after the engine came back"]);
    chat.close();
  }, 240_000);
});
