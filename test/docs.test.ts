import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./support/ngb.ts";

test("README's configuration table matches the config schema", async () => {
  const proc = Bun.spawn([process.execPath, join(ROOT, "scripts/config-docs.ts")], { stdout: "pipe" });
  const generated = (await new Response(proc.stdout).text()).trim();
  expect(await proc.exited).toBe(0);
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  // Regenerate with: bun scripts/config-docs.ts, and paste under the marker in README.md
  expect(readme).toContain(generated);
});

test("README opens with exactly the two set-up commands", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1]?.trim().split("\n") ?? [];
  expect(firstBlock).toHaveLength(2);
  expect(firstBlock[0]).toStartWith("npm install && npm start");
  expect(firstBlock[1]).toStartWith("npm install && npm test");
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  expect(pkg.scripts.start).toContain("serve");
});
