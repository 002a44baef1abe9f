import { afterEach, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { type FakeAnthropic, startFakeAnthropic } from "../../test/fakes/anthropic.ts";
import { Config } from "../config/index.ts";
import type { RunFn } from "../image/index.ts";
import { silentLogger } from "../log/index.ts";
import { checkEngine, createReadiness, credentialShapeProblem, verifyCredentials } from "./index.ts";

const GOOD = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345";
let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

/** A docker CLI that answers `version` as told and knows one image. */
function fakeDocker(up: boolean): RunFn {
  return async (cmd) => {
    if (cmd[1] === "version")
      return up
        ? { code: 0, stdout: "28.1.0\n", stderr: "" }
        : { code: 1, stdout: "", stderr: "Cannot connect to the Docker daemon" };
    if (cmd[1] === "image" && cmd.at(-1) === "ngb-agent:latest")
      return { code: 0, stdout: "sha256:0123456789abcdef|2026-01-01|1000000|<no value>\n", stderr: "" };
    return { code: 1, stdout: "", stderr: "No such image" };
  };
}

describe("credential shape (no request made)", () => {
  test("whitespace, the wrong kind and the wrong shape are refused with the fix", () => {
    expect(credentialShapeProblem(GOOD, "apiKey")).toBeNull();
    expect(credentialShapeProblem(`${GOOD}\n`, "apiKey")).toContain("whitespace");
    expect(credentialShapeProblem(` ${GOOD}`, "apiKey")).toContain("whitespace");
    expect(credentialShapeProblem("sk-ant-oat01-abcdefghijklmnopqrstuvwxyz", "apiKey")).toContain(
      "subscription token",
    );
    expect(credentialShapeProblem("hello", "apiKey")).toContain("does not look like an Anthropic API key");
    expect(credentialShapeProblem("", "authToken")).toContain("claude setup-token");
    for (const bad of [`${GOOD}\n`, "sk-ant-oat01-abcdefghijklmnopqrstuvwxyz"])
      expect(credentialShapeProblem(bad, "apiKey")).not.toContain(bad.trim());
  });
});

describe("verifyCredentials (a real request)", () => {
  test("accepted, rejected, missing and unreachable are told apart", async () => {
    fake = startFakeAnthropic({ acceptKeys: [GOOD] });
    expect((await verifyCredentials({ baseUrl: fake.url, apiKey: GOOD })).status).toBe("ok");
    const bad = await verifyCredentials({ baseUrl: fake.url, apiKey: `${GOOD}x` });
    expect(bad.status).toBe("rejected");
    expect(bad.detail).toContain("401");
    expect(bad.detail).not.toContain(GOOD);
    expect((await verifyCredentials({ baseUrl: fake.url })).status).toBe("missing");
    const down = await verifyCredentials({ baseUrl: "http://127.0.0.1:1", apiKey: GOOD, timeoutMs: 2000 });
    expect(down.status).toBe("unverified");
  });
});

describe("readiness", () => {
  test("lists what is degraded with the fix; the engine appearing later is picked up", async () => {
    fake = startFakeAnthropic({ acceptKeys: [GOOD] });
    let up = false;
    const config = v.parse(Config, { anthropic: { baseUrl: fake.url, apiKey: `${GOOD}x` } });
    const r = createReadiness({
      config,
      log: silentLogger(),
      intervalMs: 0,
      run: (cmd, o) => fakeDocker(up)(cmd, o),
      channels: () => [{ name: "telegram", state: "error", lastError: "401 Unauthorized" }],
    });
    let report = await r.refresh();
    expect(report.ok).toBe(false);
    expect(report.degraded).toEqual(["credentials", "engine", "channel:telegram"]);
    expect(report.components.find((c) => c.name === "engine")?.fix).toContain("start it");
    up = true;
    report = await r.refresh();
    expect(report.degraded).toEqual(["credentials", "channel:telegram"]);
    expect(report.components.find((c) => c.name === "image")?.status).toBe("ok");
    r.markCredentialsRejected("The Anthropic API key was rejected (401)");
    expect(r.report().components[0]!.detail).toContain("rejected");
  });

  test("checkEngine names how to install an engine when the CLI is missing", async () => {
    const config = v.parse(Config, {});
    const c = await checkEngine(config, fakeDocker(true), () => null);
    expect(c.status).toBe("fail");
    expect(c.fix).toContain("install");
  });
});
