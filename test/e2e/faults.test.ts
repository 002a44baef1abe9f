/**
 * Faults through the compiled binary (issue 11): the container engine's connection is cut while
 * agents run and messages keep arriving, then restored. Every message must be answered exactly
 * once after recovery, no agent container may be left behind, and while the engine is away
 * `/readyz` says it is degraded.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { instanceIdOf } from "../../src/runtime/instance.ts";
import { openStore } from "../../src/store/index.ts";
import { type FakeAnthropic, lastUserText, startFakeAnthropic } from "../fakes/anthropic.ts";
import { type EngineCut, startEngineCut } from "../support/engine-cut.ts";
import { agentImageAvailable } from "../support/engine.ts";
import type { ServeHandle } from "../support/ngb.ts";
import { chatsAtRest } from "../support/settled.ts";
import { until } from "../support/wait.ts";
import { chooseBinary, openWebChat, serveEnv, startServe, TOKEN } from "./serve-rig.ts";

const READY = await agentImageAvailable();
chooseBinary();

function containersOf(dir: string): string[] {
  const instance = instanceIdOf({ dataDir: join(dir, "data") });
  const out = Bun.spawnSync([
    "docker",
    "ps",
    "-a",
    "--filter",
    `label=ngb.instance=${instance}`,
    "--format",
    "{{.Names}}",
  ]);
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

describe.skipIf(!READY)("the engine goes away and comes back", () => {
  const dir = mkdtempSync(join(tmpdir(), "ngb-e2e-faults-"));
  let fake: FakeAnthropic | undefined;
  let serve: ServeHandle | undefined;
  let proxy: EngineCut | undefined;

  afterAll(async () => {
    await serve?.stop();
    await proxy?.stop();
    await fake?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("messages sent while the engine is cut are answered once after it returns; no container is left", async () => {
    const upstream = (process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock").replace(/^unix:\/\//, "");
    proxy = await startEngineCut(upstream, join(dir, "engine.sock"));
    fake = startFakeAnthropic({
      script: async (req) => {
        await Bun.sleep(300);
        const tokens = [...lastUserText(req).matchAll(/\bQ\d+Z\b/g)].map((m) => m[0]);
        return { text: `ACK ${[...new Set(tokens)].join(" ")}` };
      },
    });
    const env = {
      ...serveEnv(dir, fake),
      DOCKER_HOST: proxy.dockerHost,
      NGB_CONTAINER_IDLE_TIMEOUT_MS: "3000",
    };
    serve = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
    const chat = await openWebChat(serve);
    // One answered before the cut, so an agent is warm (its docker CLI holds a connection).
    expect((await chat.post("Q1Z first")).status).toBe(201);
    await chat.reply(/ACK Q1Z/, 90_000);
    proxy.cut();
    let lastReady = "";
    for (const n of [2, 3, 4]) {
      expect((await chat.post(`Q${n}Z while down`)).status).toBe(201);
      await Bun.sleep(400);
    }
    const ready = await until(
      async () => {
        const r = (await (await fetch(`${serve!.url}/readyz`)).json()) as { degraded?: string[] };
        lastReady = JSON.stringify(r);
        return r.degraded?.includes("engine") ? r : null;
      },
      { what: "/readyz to list the engine as degraded", timeoutMs: 30_000, intervalMs: 200 },
    ).catch((err) => {
      process.stderr.write(`last /readyz: ${lastReady}\n`);
      throw err;
    });
    expect(ready.degraded?.includes("engine")).toBe(true);
    // Nothing was given up while the engine was away.
    expect(chat.events.some((e) => e.from === "assistant" && /could not answer/.test(e.text ?? ""))).toBe(
      false,
    );
    proxy.restore();
    await until(
      () => {
        const texts = chat.events
          .filter((e) => e.type === "message" && e.from === "assistant")
          .map((e) => e.text ?? "");
        return [2, 3, 4].every((n) => texts.some((t) => t.includes(`Q${n}Z`)));
      },
      { what: "every message answered after the engine returned", timeoutMs: 120_000, intervalMs: 100 },
    );
    // Let anything in flight settle before counting (a second answer would show up here).
    const live = openStore(join(dir, "store", "ngb.db"), { readonly: true });
    try {
      await until(() => chatsAtRest(live, ["web:default"]), {
        what: "the store to come to rest",
        timeoutMs: 30_000,
        intervalMs: 100,
      });
    } finally {
      live.close();
    }
    const texts = chat.events
      .filter((e) => e.type === "message" && e.from === "assistant")
      .map((e) => e.text ?? "");
    for (const n of [1, 2, 3, 4]) expect(texts.filter((t) => t.includes(`Q${n}Z`))).toHaveLength(1);
    expect(texts.some((t) => /could not answer/.test(t))).toBe(false);
    const history = await chat.history();
    for (const n of [1, 2, 3, 4])
      expect(history.some((m) => m.from === "assistant" && m.text.includes(`Q${n}Z`))).toBe(true);
    chat.close();
    await serve.stop();
    serve = undefined;
    // Whatever the cut left running was removed (by the run's own rm -f or at shutdown).
    await until(() => containersOf(dir).length === 0, { what: "no container left", timeoutMs: 30_000 });
    expect(TOKEN).toBeTruthy();
  }, 240_000);
});
