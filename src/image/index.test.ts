import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildAgentImage, defaultRun, npmCpu, OFFLINE_BASE_IMAGE, parseLdd, type RunFn } from "./index.ts";

describe("parseLdd", () => {
  test("libraries and the loader, not the vdso", () => {
    const out = [
      "\tlinux-vdso.so.1 (0x00007ffd)",
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)",
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f)",
      "\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f)",
    ].join("\n");
    expect(parseLdd(out)).toEqual([
      "/lib/x86_64-linux-gnu/libc.so.6",
      "/lib64/ld-linux-x86-64.so.2",
      "/lib/x86_64-linux-gnu/libm.so.6",
    ]);
    expect(parseLdd("\tnot a dynamic executable")).toEqual([]);
  });

  test("npm cpu names", () => {
    expect(npmCpu("amd64")).toBe("x64");
    expect(npmCpu("arm64")).toBe("arm64");
    expect(npmCpu("aarch64")).toBe("arm64");
  });
});

let ctx: string;
beforeEach(() => {
  ctx = mkdtempSync(join(tmpdir(), "ngb-imgctx-"));
  mkdirSync(join(ctx, "agent-runner/src"), { recursive: true });
  mkdirSync(join(ctx, "agent-runner/node_modules/@anthropic-ai/claude-agent-sdk"), { recursive: true });
  writeFileSync(join(ctx, "agent-runner/node_modules/@anthropic-ai/claude-agent-sdk/package.json"), "{}");
  writeFileSync(join(ctx, "Dockerfile"), ["ARG BASE_IMAGE", "FROM $BASE_IMAGE", ""].join("\n"));
  writeFileSync(join(ctx, "agent-runner/package.json"), "{}");
  writeFileSync(join(ctx, "agent-runner/package-lock.json"), '{"lockfileVersion":3}');
  writeFileSync(join(ctx, "agent-runner/src/main.ts"), 'console.log("runner");\n');
});
afterEach(() => rmSync(ctx, { recursive: true, force: true }));

/** A fake engine that remembers image labels; ldd/busybox/tar run for real. */
function fakeEngine() {
  const labels = new Map<string, string>();
  const calls: string[][] = [];
  const run: RunFn = async (cmd, opts) => {
    calls.push(cmd);
    const [bin, sub, ...rest] = cmd;
    if (sub === "install") return { code: 0, stdout: "", stderr: "" };
    if (bin !== "docker") return defaultRun(cmd, opts);
    if (sub === "version") return { code: 0, stdout: "amd64\n", stderr: "" };
    if (sub === "image") {
      const image = rest.at(-1) as string;
      if (!labels.has(image)) return { code: 1, stdout: "", stderr: "No such image" };
      const format = rest[2] ?? "";
      return {
        code: 0,
        stdout: format.includes(".Id") ? `sha256:${image}-id\n` : `${labels.get(image)}\n`,
        stderr: "",
      };
    }
    if (sub === "import") {
      if (opts?.input instanceof ReadableStream) await new Response(opts.input).arrayBuffer();
      const label = cmd.find((a) => a.startsWith("LABEL "))?.split("=")[1] ?? "";
      labels.set(cmd.at(-1) as string, label);
      return { code: 0, stdout: "sha256:x\n", stderr: "" };
    }
    if (sub === "build") {
      const label = cmd[cmd.indexOf("--label") + 1]?.split("=")[1] ?? "";
      labels.set(cmd[cmd.indexOf("-t") + 1] as string, label);
      return { code: 0, stdout: "", stderr: "" };
    }
    return { code: 1, stdout: "", stderr: `unexpected ${cmd.join(" ")}` };
  };
  return { run, calls, labels };
}

describe.skipIf(process.platform !== "linux" || !Bun.which("busybox"))(
  "buildAgentImage (fake engine)",
  () => {
    test("offline: imports the base, installs, bundles, builds; a second run skips every step", async () => {
      const engine = fakeEngine();
      const first = await buildAgentImage({ contextDir: ctx, offline: true, run: engine.run, log: () => {} });
      const cmds = engine.calls.map((c) => c.slice(0, 2).join(" "));
      expect(cmds).toContain("docker import");
      expect(engine.calls.find((c) => c[1] === "install")).toContain("--frozen-lockfile");
      const build = engine.calls.find((c) => c[1] === "build") as string[];
      expect(build).toContain(`BASE_IMAGE=${OFFLINE_BASE_IMAGE}`);
      expect(build.at(-1)).toBe(ctx);
      expect(first.steps.every((s) => !s.skipped || s.step === "bundle")).toBe(true);

      engine.calls.length = 0;
      const second = await buildAgentImage({
        contextDir: ctx,
        offline: true,
        run: engine.run,
        log: () => {},
      });
      expect(second.steps.filter((s) => s.step !== "bundle").every((s) => s.skipped)).toBe(true);
      expect(engine.calls.some((c) => c[1] === "build" || c[1] === "import" || c[1] === "install")).toBe(
        false,
      );
      expect(second.hash).toBe(first.hash);

      // A changed runner source changes the bundle, so only the image is rebuilt.
      writeFileSync(join(ctx, "agent-runner/src/main.ts"), 'console.log("runner v2");\n');
      engine.calls.length = 0;
      const third = await buildAgentImage({ contextDir: ctx, offline: true, run: engine.run, log: () => {} });
      expect(third.hash).not.toBe(first.hash);
      expect(engine.calls.some((c) => c[1] === "build")).toBe(true);
      expect(engine.calls.some((c) => c[1] === "import" || c[1] === "install")).toBe(false);
    });

    test("a user build uses the official base; an engine that does not answer is a clear error", async () => {
      const engine = fakeEngine();
      await buildAgentImage({ contextDir: ctx, base: "oven/bun:1-slim", run: engine.run, log: () => {} });
      expect(engine.calls.some((c) => c[1] === "import")).toBe(false);
      expect(engine.calls.find((c) => c[1] === "build")).toContain("BASE_IMAGE=oven/bun:1-slim");

      const down: RunFn = async () => ({
        code: 1,
        stdout: "",
        stderr: "Cannot connect to the Docker daemon at unix:///x",
      });
      await expect(buildAgentImage({ contextDir: ctx, run: down, log: () => {} })).rejects.toThrow(
        /does not answer.*Cannot connect/,
      );
      await expect(buildAgentImage({ contextDir: join(ctx, "nope"), run: down })).rejects.toThrow(
        /no container\/ folder/,
      );
    });
  },
);
