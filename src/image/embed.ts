/**
 * Generates the content of `embedded.ts` for the compiled binary: the build context of the
 * agent image from `container/` (Dockerfile, .dockerignore, the runner's package.json and
 * lockfile, and the runner bundled from its sources with the shared protocol module) plus
 * the default memory files `groups/global/CLAUDE.md` and `groups/main/CLAUDE.md`.
 * Used by `scripts/build.ts` through a build plugin; run directly to print a summary.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { EmbeddedFiles } from "./embedded.ts";

/** Files copied as they are from `container/`. */
export const CONTEXT_FILES = [
  "Dockerfile",
  ".dockerignore",
  "agent-runner/package.json",
  "agent-runner/package-lock.json",
] as const;
export const RUNNER_BUNDLE = "agent-runner/dist/agent-runner.js";
export const MEMORY_FILES = ["global/CLAUDE.md", "main/CLAUDE.md"] as const;

/** Bundles the runner in memory (no files written), exactly as `ngb image build` does. */
export async function bundleRunnerText(runnerDir: string): Promise<string> {
  const out = await Bun.build({
    entrypoints: [join(runnerDir, "src/main.ts")],
    target: "bun",
    external: ["@anthropic-ai/claude-agent-sdk", "zod"],
    naming: "agent-runner.js",
  });
  const file = out.outputs[0];
  if (!out.success || !file)
    throw new Error(`bundling the agent runner failed: ${out.logs.map((l) => String(l)).join("; ")}`);
  return file.text();
}

export function hashFiles(files: Record<string, string>): string {
  const h = createHash("sha256");
  for (const name of Object.keys(files).sort()) h.update(`\n${name}\n`).update(files[name]!);
  return h.digest("hex").slice(0, 32);
}

export async function collectEmbedded(root: string): Promise<EmbeddedFiles> {
  const containerDir = join(root, "container");
  const context: Record<string, string> = {};
  for (const rel of CONTEXT_FILES) {
    const file = join(containerDir, rel);
    if (!existsSync(file)) throw new Error(`cannot embed the agent image context: ${file} is missing`);
    context[rel] = readFileSync(file, "utf8");
  }
  context[RUNNER_BUNDLE] = await bundleRunnerText(join(containerDir, "agent-runner"));
  const memory: Record<string, string> = {};
  for (const rel of MEMORY_FILES) {
    const file = join(root, "groups", rel);
    if (existsSync(file)) memory[rel] = readFileSync(file, "utf8");
  }
  const hash = hashFiles({
    ...context,
    ...Object.fromEntries(Object.entries(memory).map(([k, v]) => [`groups/${k}`, v])),
  });
  return { context, memory, hash };
}

/** The module text that replaces `embedded.ts` in the binary. */
export function embeddedModule(files: EmbeddedFiles): string {
  return `export const EMBEDDED = ${JSON.stringify(files)};\n`;
}

if (import.meta.main) {
  const files = await collectEmbedded(join(import.meta.dir, "../.."));
  for (const [name, text] of Object.entries(files.context)) console.log(`context ${name} ${text.length} B`);
  for (const [name, text] of Object.entries(files.memory)) console.log(`memory  ${name} ${text.length} B`);
  console.log(`hash ${files.hash}`);
}
