import { describe, expect, test } from "bun:test";
import { claudeEnv, loadRunnerConfig, rebase } from "./config.ts";

describe("runner config", () => {
  test("container paths by default, re-rooted under NGB_WORKSPACE_ROOT for local runs", () => {
    const c = loadRunnerConfig({});
    expect(c.paths.group).toBe("/workspace/group");
    expect(c.paths.ipcInput).toBe("/workspace/ipc/input");
    expect(c.paths.tasksSnapshot).toBe("/workspace/ipc/current_tasks.json");
    expect(c.paths.proxySocket).toBe("/run/ngb/proxy.sock");
    expect(c.paths.claudeConfigDir).toBe("/home/agent/.claude");
    const t = loadRunnerConfig({
      NGB_WORKSPACE_ROOT: "/tmp/ws",
      NGB_AGENT_HOME: "/tmp/home",
      NGB_PROXY_SOCKET: "/tmp/p.sock",
    });
    expect(t.paths.group).toBe("/tmp/ws/group");
    expect(t.paths.ipcMessages).toBe("/tmp/ws/ipc/messages");
    expect(t.paths.globalClaudeMd).toBe("/tmp/ws/global/CLAUDE.md");
    expect(t.paths.claudeConfigDir).toBe("/tmp/home/.claude");
    expect(t.paths.proxySocket).toBe("/tmp/p.sock");
    expect(rebase("/run/ngb/x", "/tmp/ws")).toBe("/run/ngb/x");
  });

  test("the CLI environment is complete and carries no host secrets", () => {
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
      ANTHROPIC_BASE_URL: "http://127.0.0.1:1234",
      ANTHROPIC_API_KEY: "tok",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      ENABLE_TOOL_SEARCH: "false",
    });
    expect(Object.values(env)).not.toContain("sk-real");
    expect(Object.keys(env).some((k) => k.startsWith("NGB_") || k === "SECRET")).toBe(false);
    expect(loadRunnerConfig({}).passthroughEnv.PATH).toContain("/usr/bin");
  });
});
