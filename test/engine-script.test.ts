/** scripts/engine.sh: the parts that are safe to run while other tests use the engine. */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { engineAvailable } from "./support/engine.ts";

const SCRIPT = resolve(import.meta.dir, "../scripts/engine.sh");
const run = (...args: string[]) =>
  Bun.spawnSync(["bash", SCRIPT, ...args], { stdout: "pipe", stderr: "pipe", env: process.env });

describe("scripts/engine.sh", () => {
  test("env prints the DOCKER_HOST of the private engine", () => {
    const res = run("env");
    expect(res.exitCode).toBe(0);
    expect(res.stdout.toString()).toBe("export DOCKER_HOST=unix:///run/ngb-docker/docker.sock\n");
  });

  test("status agrees with whether the private engine answers; bad usage exits 2", async () => {
    const res = run("status");
    const privateEngine =
      process.env.DOCKER_HOST === "unix:///run/ngb-docker/docker.sock" && (await engineAvailable());
    if (privateEngine) expect(res.exitCode).toBe(0);
    expect(res.stdout.toString()).toMatch(
      /^(running|not running) \(unix:\/\/\/run\/ngb-docker\/docker\.sock\)\n$/,
    );
    expect(run("bogus").exitCode).toBe(2);
  });

  test.skipIf(process.env.DOCKER_HOST !== "unix:///run/ngb-docker/docker.sock")(
    "start on a running engine is a no-op that leaves the firewall alone",
    async () => {
      if (!(await engineAvailable())) return;
      const res = run("start");
      expect(res.exitCode).toBe(0);
      expect(res.stderr.toString()).toContain("already running");
      const rules = Bun.spawnSync(["iptables", "-S"], { stdout: "pipe", stderr: "pipe" });
      if (rules.exitCode === 0) expect(rules.stdout.toString()).not.toContain("DOCKER");
    },
  );
});
