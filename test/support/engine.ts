/**
 * Is a container engine here? For docker-backed tests: `test.skipIf(!(await engineAvailable()))`.
 * The docker CLI must exist and the engine answer with the current DOCKER_HOST; when DOCKER_HOST
 * is unset and the private engine of scripts/engine.sh is running, that one is used (and
 * DOCKER_HOST is set for the rest of the test process). Results are cached; the reason for a
 * skip is printed once.
 *
 * In CI (CI=true) or with NGB_TEST_REQUIRE=1 nothing may be skipped for a missing prerequisite:
 * the check throws instead, so the test file fails with the reason (see `prerequisite`).
 */
import { existsSync } from "node:fs";

export const NGB_ENGINE_SOCKET = "/run/ngb-docker/docker.sock";

const runtime = () => process.env.NGB_CONTAINER_RUNTIME || "docker";

let engine: Promise<{ ok: boolean; reason?: string }> | undefined;
const images = new Map<string, Promise<boolean>>();
const reported = new Set<string>();

/** Every prerequisite is required: a missing one fails the tests instead of skipping them. */
export const TESTS_REQUIRED = process.env.CI === "true" || process.env.NGB_TEST_REQUIRE === "1";

export class MissingPrerequisiteError extends Error {
  override name = "MissingPrerequisiteError";
}

function report(reason: string): void {
  if (TESTS_REQUIRED)
    throw new MissingPrerequisiteError(`${reason} (required here: CI=true or NGB_TEST_REQUIRE=1)`);
  if (reported.has(reason)) return;
  reported.add(reason);
  process.stderr.write(`[skip] ${reason}\n`);
}

/**
 * `ok` for a test's prerequisite: true runs the tests; false skips them with `reason` printed —
 * or, when prerequisites are required, throws so the tests fail.
 */
export function prerequisite(ok: boolean, reason: string): boolean {
  if (!ok) report(reason);
  return ok;
}

async function tryRun(cmd: string[], timeoutMs = 10_000): Promise<{ code: number; out: string }> {
  try {
    const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: process.env });
    const timer = setTimeout(() => proc.kill(), timeoutMs);
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    clearTimeout(timer);
    return { code, out: (out + err).trim() };
  } catch (e) {
    return { code: 127, out: (e as Error).message };
  }
}

async function probe(): Promise<{ ok: boolean; reason?: string }> {
  const bin = runtime();
  if (!Bun.which(bin)) return { ok: false, reason: `no ${bin} CLI on PATH` };
  if (!process.env.DOCKER_HOST && existsSync(NGB_ENGINE_SOCKET)) {
    process.env.DOCKER_HOST = `unix://${NGB_ENGINE_SOCKET}`;
  }
  const res = await tryRun([bin, "version", "--format", "{{.Server.Version}}"]);
  if (res.code !== 0) {
    return {
      ok: false,
      reason: `container engine not reachable (DOCKER_HOST=${process.env.DOCKER_HOST ?? "default"}): ${res.out.split("\n").at(-1)} — start one with scripts/engine.sh start`,
    };
  }
  return { ok: true };
}

/** True when the docker CLI works against a running engine (cached per process). */
export async function engineAvailable(): Promise<boolean> {
  engine ??= probe();
  const r = await engine;
  if (!r.ok && r.reason) report(r.reason);
  return r.ok;
}

/** The agent image the tests use: NGB_TEST_AGENT_IMAGE, else ngb-agent:latest. */
export function testAgentImage(): string {
  return process.env.NGB_TEST_AGENT_IMAGE || "ngb-agent:latest";
}

/** True when the engine is available and has `image` locally (cached per image). */
export async function agentImageAvailable(image = testAgentImage()): Promise<boolean> {
  if (!(await engineAvailable())) return false;
  let p = images.get(image);
  if (!p) {
    p = tryRun([runtime(), "image", "inspect", "--format", "{{.Id}}", image]).then((r) => r.code === 0);
    images.set(image, p);
  }
  const ok = await p;
  if (!ok) report(`image ${image} not built — run scripts/agent-image.sh`);
  return ok;
}
