import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { buildDashboard, GENERATED } from "./dashboard/build.ts";

test("assets.gen.ts is up to date with the dashboard sources (run `bun src/web/dashboard/build.ts`)", async () => {
  const fresh = await buildDashboard();
  expect(readFileSync(GENERATED, "utf8") === fresh).toBe(true);
});

test("the dashboard's first load is small and self-contained (no CDN)", async () => {
  const { ASSETS, INDEX_HTML } = await import("./dashboard/assets.gen.ts");
  let gz = Bun.gzipSync(INDEX_HTML).length;
  for (const a of Object.values(ASSETS)) {
    gz += Bun.gzipSync(a.text).length;
    expect(a.text).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  }
  expect(gz).toBeLessThan(150 * 1024);
});
