/**
 * The evil agent (issue 10): the compiled serve and real agent containers; the fake model makes
 * the agent run chosen shell commands through its Bash tool. Each attack must fail: the host
 * never writes or reads through a path the agent planted, no secret is visible to any agent
 * (not even the main one), the container has no network, a read-only root and file-size limits.
 * The host tree outside the agent's own folders is hashed before and after and must not change.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import {
  type FakeAnthropic,
  lastUserText,
  scripts,
  startFakeAnthropic,
  toolResults,
  toolResultText,
} from "../fakes/anthropic.ts";
import { agentImageAvailable } from "../support/engine.ts";
import type { ServeHandle } from "../support/ngb.ts";
import { until } from "../support/wait.ts";
import { chooseBinary, openWebChat, serveEnv, startServe, TOKEN, type WebChat } from "./serve-rig.ts";

const READY = await agentImageAvailable();
chooseBinary();

const API_KEY = "sk-ant-evil-test-SECRET-0123456789";

/** Every file outside the agents' writable folders, with a hash of its content (links: target). */
function snapshot(root: string, skip: (rel: string) => boolean): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const rel = relative(root, p);
      if (skip(rel)) continue;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.set(rel, `link:${readlinkSync(p)}`);
      else if (st.isDirectory()) walk(p);
      else out.set(rel, createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  walk(root);
  return out;
}

/** The fake model: a prompt `run: <cmd>` makes the agent run <cmd> with Bash and report its output. */
const bash: Parameters<typeof startFakeAnthropic>[0] = {
  script: (req, index) => {
    const prompt = lastUserText(req);
    const m = /run: ([\s\S]+?)<\/message>/.exec(prompt);
    if (!m) return scripts.text("ok")(req, index);
    if (toolResults(req).length > 0) return { text: `OUTPUT<<${toolResultText(toolResults(req)[0]!)}>>` };
    const command = m[1]!
      .replace(/&amp;/g, "&")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'");
    return { toolUses: [{ name: "Bash", input: { command, description: "attack" } }] };
  },
};

describe.skipIf(!READY)("an evil agent cannot cross the container boundary", () => {
  const dir = mkdtempSync(join(tmpdir(), "ngb-e2e-evil-"));
  const outside = mkdtempSync(join(tmpdir(), "ngb-e2e-victim-"));
  let fake: FakeAnthropic;
  let serve: ServeHandle;
  let chat: WebChat;
  let before: Map<string, string>;
  /** The agents' own writable folders: groups/<g> and data/sessions/<g> (and what the host manages). */
  const agentWritable = (rel: string) =>
    /^groups\/[^/]+\//.test(`${rel}/`) && !rel.startsWith("groups/global")
      ? true
      : rel.startsWith("data/sessions") ||
        rel.startsWith("data/agent-context") ||
        rel === "data/plugins.json" ||
        rel.startsWith("data/logs") ||
        rel.startsWith("store") ||
        rel === "data/ngb.pid" ||
        rel.startsWith("data/proxy") ||
        rel.startsWith(".xdg");

  async function attack(cmd: string, timeoutMs = 120_000): Promise<string> {
    const n = chat.events.filter((e) => e.type === "message" && e.from === "assistant").length;
    expect((await chat.post(`run: ${cmd}`)).status).toBe(201);
    const replies = await until(
      () => {
        const r = chat.events.filter((e) => e.type === "message" && e.from === "assistant");
        return r.length > n ? r : null;
      },
      { what: `a reply to: ${cmd}`, timeoutMs, intervalMs: 50 },
    );
    return replies.at(-1)!.text ?? "";
  }

  beforeAll(async () => {
    fake = startFakeAnthropic(bash);
    writeFileSync(join(outside, "authorized_keys"), "ssh-ed25519 AAAA legit\n");
    writeFileSync(join(dir, ".env"), `ANTHROPIC_API_KEY=${API_KEY}\n`, { mode: 0o600 });
    writeFileSync(
      join(dir, "ngb.config.json"),
      JSON.stringify({ container: { maxFileBytes: 8 * 1024 * 1024, idleTimeoutMs: 2_000 } }),
      { mode: 0o600 },
    );
    serve = await startServe({
      cwd: dir,
      env: serveEnv(dir, fake, { NGB_ANTHROPIC_API_KEY: API_KEY }),
      timeoutMs: 30_000,
    });
    chat = await openWebChat(serve);
    mkdirSync(join(dir, "groups"), { recursive: true });
    before = snapshot(dir, agentWritable);
  }, 60_000);

  afterAll(async () => {
    chat?.close();
    await serve?.stop();
    await fake?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  test("the main agent sees no secret: no working dir, no data/, store, config, .env or key", async () => {
    const out = await attack(
      "ls -la /workspace /workspace/groups 2>&1; cat /workspace/project/.env 2>&1; " +
        "find / -xdev \\( -name '.env' -o -name 'ngb.db*' -o -name 'web-token' -o -name 'ngb.config.json' -o -name 'creds.json' \\) 2>/dev/null; " +
        "env; cat /proc/1/environ 2>/dev/null | tr '\\0' '\\n'",
    );
    expect(out).toContain("OUTPUT<<");
    expect(out).not.toContain(API_KEY);
    expect(out).not.toContain(TOKEN);
    expect(out).not.toMatch(/ngb\.db|web-token|ngb\.config\.json|creds\.json/);
    // No working-directory mount: the path is not there at all.
    expect(out).toContain("can't open '/workspace/project/.env': No such file or directory");
  }, 180_000);

  test("symlinks planted for the host (logs, CLAUDE.md, ipc) are never followed", async () => {
    const victim = join(outside, "authorized_keys");
    const out = await attack(
      `cd /workspace/group && rm -rf logs CLAUDE.md && ln -s ${outside} logs && ln -s ${victim} CLAUDE.md && ` +
        `mkdir -p /workspace/ipc/input 2>&1; ln -s ${victim} /workspace/group/current_tasks.json; echo planted`,
    );
    expect(out).toContain("planted");
    // Another run of the same group (the host prepares its folders again and logs again).
    await attack("echo second run");
    expect(readFileSync(victim, "utf8")).toBe("ssh-ed25519 AAAA legit\n");
    expect(readdirSync(outside)).toEqual(["authorized_keys"]);
  }, 240_000);

  test("no network, read-only root, bounded file size, unprivileged uid", async () => {
    const out = await attack(
      `id -u; (echo x > /etc/evil && echo ROOTFS-WRITABLE) 2>&1; ` +
        `(head -c 20000000 /dev/zero > /workspace/group/big && echo BIGFILE-WRITTEN) 2>&1; ls -l /workspace/group/big 2>&1; ` +
        `(bun -e "await fetch('http://127.0.0.1:${new URL(serve.url).port}/healthz')" && echo NET-OK) 2>&1 | tail -1`,
    );
    expect(out).not.toContain("ROOTFS-WRITABLE");
    expect(out).not.toContain("BIGFILE-WRITTEN");
    expect(out).not.toContain("NET-OK");
    expect(out).toMatch(/\b10001\b/);
  }, 180_000);

  test("nothing outside the agents' own folders changed on the host", () => {
    const after = snapshot(dir, agentWritable);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
      (k) => before.get(k) !== after.get(k),
    );
    expect(changed).toEqual([]);
    // Container logs are written in the host-only data/logs/<group>, never in the group folder.
    expect(readdirSync(join(dir, "data", "logs", "main")).length).toBeGreaterThan(0);
  });
});
