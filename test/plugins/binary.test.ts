/**
 * The compiled binary (`bun run build` → dist/ngb): an external plugin loads into `ngb serve`,
 * an edit applies to the next message without a restart, a syntax error keeps the old version,
 * and `ngb plugins list|disable` reach the running serve. Skipped when dist/ngb is not built.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { until } from "../support/wait.ts";

const bin = resolve(import.meta.dir, "../../dist/ngb");
const dir = mkdtempSync(join(tmpdir(), "ngb-plugbin-"));
const procs: Bun.Subprocess[] = [];
afterAll(async () => {
  for (const p of procs) {
    p.kill("SIGTERM");
    await p.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

const plugin = (tag: string) => `import { definePlugin } from "ngb/plugin";
import * as v from "valibot";
export default definePlugin({
  name: "tagger",
  version: "1.0.0",
  config: v.object({}),
  setup(api) {
    api.on("message.received", (m) => ({ content: "${tag} " + m.content }));
  },
});
`;

test.skipIf(!existsSync(bin))(
  "hot reload in the compiled binary",
  async () => {
    mkdirSync(join(dir, "plugins"));
    writeFileSync(join(dir, "plugins", "tagger.ts"), plugin("[v1]"));
    writeFileSync(join(dir, "plugins", "nodefault.ts"), "export const x = 1;\n");
    writeFileSync(
      join(dir, "ngb.config.json"),
      JSON.stringify({ web: { port: 0, token: "t".repeat(32) }, plugins: { dir: "plugins" } }),
    );
    const proc = Bun.spawn([bin, "serve"], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, "xdg"), NGB_LOG_LEVEL: "info" },
      stdout: "pipe",
      stderr: "pipe",
    });
    procs.push(proc);
    let err = "";
    void (async () => {
      for await (const chunk of proc.stderr as unknown as AsyncIterable<Uint8Array>)
        err += new TextDecoder().decode(chunk);
    })();
    const url = await until(() => /listening on (http:\/\/\S+)/.exec(err)?.[1], {
      timeoutMs: 20_000,
      what: "serve",
    });
    const headers = { authorization: `Bearer ${"t".repeat(32)}`, "content-type": "application/json" };
    const say = async (text: string) => {
      const res = await fetch(`${url}/api/webchat/messages`, {
        method: "POST",
        headers,
        body: JSON.stringify({ chatId: "default", text }),
      });
      expect(res.status).toBe(201);
      const list = (await (
        await fetch(`${url}/api/webchat/messages?chatId=default`, { headers })
      ).json()) as {
        messages: { text: string }[];
      };
      return list.messages.at(-1)?.text;
    };
    expect(await say("hello")).toBe("[v1] hello");
    writeFileSync(join(dir, "plugins", "tagger.ts"), plugin("[v2]"));
    await until(
      async () =>
        ((await fetch(`${url}/api/plugins/tagger`, { headers }).then((r) => r.json())) as {
          plugin: { loadedAt: number };
        }) && err.includes("plugin reloaded"),
      {
        timeoutMs: 10_000,
        what: "reload",
      },
    );
    expect(await say("again")).toBe("[v2] again");
    writeFileSync(join(dir, "plugins", "tagger.ts"), `${plugin("[v3]")}\nconst broken = ;`);
    await until(() => err.includes("plugin reload failed"), { timeoutMs: 10_000, what: "failed reload" });
    expect(await say("still")).toBe("[v2] still");
    const cli = Bun.spawnSync([bin, "plugins", "list", "--json", "--url", url], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir },
    });
    const rows = JSON.parse(cli.stdout.toString()) as {
      name: string;
      status: string;
      lastError: { message: string };
    }[];
    expect(rows.find((r) => r.name === "tagger")).toMatchObject({ status: "enabled" });
    expect(rows.find((r) => r.name === "tagger")?.lastError.message).toContain("does not build");
    expect(rows.find((r) => r.name === "file:nodefault")).toMatchObject({
      status: "error",
      lastError: { message: expect.stringContaining('plugin "nodefault": has no default export') },
    });
    const off = Bun.spawnSync([bin, "plugins", "disable", "tagger", "--url", url], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir },
    });
    expect(off.exitCode).toBe(0);
    expect(await say("plain")).toBe("plain");
    const metrics = await (await fetch(`${url}/metrics`, { headers })).text();
    expect(metrics).toContain('ngb_plugin_hook_calls_total{plugin="tagger",hook="message.received"}');
  },
  60_000,
);
