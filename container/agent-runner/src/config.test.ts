import { describe, expect, test } from "bun:test";
import { claudeEnv, loadRunnerConfig, rebase } from "./config.ts";

describe("runner config", () => {
  test("container paths by default, re-rooted under NGB_WORKSPACE_ROOT for local runs", () => {
    const c = loadRunnerConfig({});
    expect(c.paths.group).toBe("/workspace/group");
    expect(c.paths.groups).toBe("/workspace/groups");
    expect(c.paths.proxySocket).toBe("/run/ngb/proxy.sock");
    expect(c.paths.claudeConfigDir).toBe("/home/agent/.claude");
    expect(c.paths.tmp).toBe("/tmp");
    expect(c.requestTimeoutMs).toBe(60_000);
    const t = loadRunnerConfig({
      NGB_WORKSPACE_ROOT: "/tmp/ws",
      NGB_AGENT_HOME: "/tmp/home",
      NGB_PROXY_SOCKET: "/tmp/p.sock",
      NGB_TMP_DIR: "/tmp/ws/tmp",
      NGB_REQUEST_TIMEOUT_MS: "250",
    });
    expect(t.paths.group).toBe("/tmp/ws/group");
    expect(t.paths.groups).toBe("/tmp/ws/groups");
    expect(t.paths.globalClaudeMd).toBe("/tmp/ws/global/CLAUDE.md");
    expect(t.paths.claudeConfigDir).toBe("/tmp/home/.claude");
    expect(t.paths.proxySocket).toBe("/tmp/p.sock");
    expect(t.paths.tmp).toBe("/tmp/ws/tmp");
    expect(t.requestTimeoutMs).toBe(250);
    expect(loadRunnerConfig({ NGB_REQUEST_TIMEOUT_MS: "soon" }).requestTimeoutMs).toBe(60_000);
    expect(rebase("/run/ngb/x", "/tmp/ws")).toBe("/run/ngb/x");
  });

  test("the CLI environment is complete, keeps its caches off HOME and carries no host secrets", () => {
    const c = loadRunnerConfig({
      PATH: "/bin",
      NGB_PROXY_TOKEN: "tok",
      ANTHROPIC_API_KEY: "sk-real",
      SECRET: "x",
      TZ: "Europe/Paris",
    });
    const env = claudeEnv(c, "http://127.0.0.1:1234", "tok");
    expect(env).toMatchObject({
      PATH: "/bin",
      TZ: "Europe/Paris",
      HOME: "/home/agent",
      CLAUDE_CONFIG_DIR: "/home/agent/.claude",
      TMPDIR: "/tmp",
      CLAUDE_CODE_TMPDIR: "/tmp",
      XDG_CACHE_HOME: "/tmp/.cache",
      XDG_CONFIG_HOME: "/tmp/.config",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:1234",
      ANTHROPIC_API_KEY: "tok",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      ENABLE_TOOL_SEARCH: "false",
    });
    // Nothing the CLI may write points under the read-only HOME (except its config dir).
    for (const [k, v] of Object.entries(env))
      if (k !== "HOME" && k !== "CLAUDE_CONFIG_DIR") expect(v.startsWith("/home/agent")).toBe(false);
    expect(Object.values(env)).not.toContain("sk-real");
    expect(Object.keys(env).some((k) => k.startsWith("NGB_") || k === "SECRET")).toBe(false);
    expect(loadRunnerConfig({}).passthroughEnv.PATH).toContain("/usr/bin");
  });
});
