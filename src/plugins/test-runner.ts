/**
 * `ngb plugins test`: runs a plugin's `*.test.ts` files inside the binary (no Bun install
 * needed). Test files are bundled like plugins, with `bun:test` mapped to a small runner that
 * supports test/it, describe, before/afterEach, before/afterAll, and Bun's own `expect`.
 */
import { expect } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { registerSdkModules, SDK_MODULES } from "./sdk.ts";

type Fn = () => unknown | Promise<unknown>;
interface Case {
  name: string;
  fn: Fn;
  before: Fn[];
  after: Fn[];
}

/** Bun keeps `bun:test` external; bind its imports to this runner instead. */
function shimBunTest(code: string): string {
  return code.replace(/import\s*\{([^}]*)\}\s*from\s*["']bun:test["'];?/g, (_, names: string) => {
    const binds = names
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean)
      .map((n) => n.replace(/\s+as\s+/, ": "));
    return `const { ${binds.join(", ")} } = globalThis.__ngbTest;`;
  });
}

export interface TestReport {
  passed: number;
  failed: number;
}

export async function runPluginTests(
  files: string[],
  cacheDir: string,
  out: (line: string) => void,
  timeoutMs = 10_000,
): Promise<TestReport> {
  registerSdkModules();
  const report = { passed: 0, failed: 0 };
  mkdirSync(cacheDir, { recursive: true });
  for (const file of files) {
    const cases: Case[] = [];
    const scopes: { name: string; before: Fn[]; after: Fn[] }[] = [{ name: "", before: [], after: [] }];
    const all: { before: Fn[]; after: Fn[] } = { before: [], after: [] };
    const top = () => scopes[scopes.length - 1]!;
    const api = {
      expect,
      it: (name: string, fn: Fn) => api.test(name, fn),
      test: (name: string, fn: Fn) =>
        cases.push({
          name: [...scopes.map((s) => s.name).filter(Boolean), name].join(" > "),
          fn,
          before: scopes.flatMap((s) => s.before),
          after: scopes.flatMap((s) => s.after).reverse(),
        }),
      describe: (name: string, fn: () => void) => {
        scopes.push({ name, before: [], after: [] });
        try {
          fn();
        } finally {
          scopes.pop();
        }
      },
      beforeEach: (fn: Fn) => top().before.push(fn),
      afterEach: (fn: Fn) => top().after.push(fn),
      beforeAll: (fn: Fn) => all.before.push(fn),
      afterAll: (fn: Fn) => all.after.push(fn),
    };
    (globalThis as unknown as { __ngbTest: typeof api }).__ngbTest = api;
    out(`${basename(file)}:`);
    try {
      const built = await Bun.build({
        entrypoints: [file],
        target: "bun",
        format: "esm",
        external: [...SDK_MODULES],
        throw: false,
      });
      if (!built.success || !built.outputs[0])
        throw new Error(built.logs.map((l) => String(l.message ?? l)).join("; "));
      const bundle = join(cacheDir, `test.${process.pid}.${Date.now()}.mjs`);
      writeFileSync(bundle, shimBunTest(await built.outputs[0].text()));
      try {
        await import(bundle);
      } finally {
        rmSync(bundle, { force: true });
      }
    } catch (err) {
      report.failed++;
      out(`  ✗ could not load: ${(err as Error).message.split("\n")[0]}`);
      continue;
    }
    for (const fn of all.before) await fn();
    for (const c of cases) {
      const started = performance.now();
      try {
        for (const fn of c.before) await fn();
        await withTimeout(Promise.resolve().then(c.fn), timeoutMs);
        for (const fn of c.after) await fn();
        report.passed++;
        out(`  ✓ ${c.name} [${(performance.now() - started).toFixed(1)} ms]`);
      } catch (err) {
        report.failed++;
        out(`  ✗ ${c.name}\n    ${String((err as Error).message ?? err).replace(/\n/g, "\n    ")}`);
      }
    }
    for (const fn of all.after) await fn();
  }
  return report;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, rej) => {
      t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}
