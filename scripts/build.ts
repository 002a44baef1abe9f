/**
 * Build the single `ngb` executable with `bun build --compile`.
 *
 *   bun run build                       # dist/ngb for this machine
 *   bun run build --target bun-linux-arm64 --outfile dist/ngb-linux-arm64
 *   bun run build --target bun-darwin-arm64 --outfile dist/ngb-mac --executable-path <bun runtime>
 *
 * Version and git commit are injected with --define (see src/version.ts). `--executable-path`
 * names the Bun runtime to embed (the matching `@oven/bun-<os>-<arch>` package), so a
 * cross-compile needs no download from Bun's servers; `scripts/release.ts` passes it.
 *
 * Size: the Bun runtime is ~102 MiB of the binary; our code is ~7 MiB, 80 % of it WhatsApp
 * (baileys' protobuf tables, whatsapp-rust-bridge's two inline WASM builds). Bytecode (+12 MiB)
 * and embedded sourcemaps (+4 MiB) are off: together they cost ~50 ms of start-up, and
 * without them the binary stays under 110 MiB. `bun run bench size` prints the figures.
 */
import { $ } from "bun";
import { resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { collectEmbedded, embeddedModule } from "../src/image/embed.ts";

const args = process.argv.slice(2);
function flag(name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

const root = new URL("..", import.meta.url).pathname;
const outfile = resolve(root, flag("outfile") ?? "dist/ngb");
const target = flag("target");
const executablePath = flag("executable-path");
// --version: the version to embed (default package.json's); tests build a "newer release" with it.
const version = flag("version") ?? pkg.version;
let commit = "unknown";
try {
  commit = (await $`git -C ${root} rev-parse --short=12 HEAD`.quiet().text()).trim();
  const dirty = (await $`git -C ${root} status --porcelain --untracked-files=no`.quiet().text()).trim();
  if (dirty) commit += "-dirty";
} catch {
  // not a git checkout (release tarball): keep "unknown"
}

const started = performance.now();
// The agent image's build context and the default memory files travel inside the binary, so
// `ngb image build` and a first `ngb serve` work from any directory. Generated from what is
// in container/ and groups/ now, and swapped in for src/image/embedded.ts (nothing on disk).
const embedded = await collectEmbedded(root);
const embedPlugin: Bun.BunPlugin = {
  name: "ngb-embedded",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]image[\\/]embedded\.ts$/ }, () => ({
      contents: embeddedModule(embedded),
      loader: "ts",
    }));
  },
};
const result = await Bun.build({
  plugins: [embedPlugin],
  entrypoints: [`${root}src/main.ts`],
  compile: {
    outfile,
    ...(target ? { target: target as Bun.Build.CompileTarget } : {}),
    ...(executablePath ? { executablePath } : {}),
    // The product reads its own config files; don't let Bun auto-load .env/bunfig from the cwd.
    // --smol: a smaller heap and more eager GC; the host is I/O-bound, not allocation-bound.
    execArgv: ["--smol"],
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
  minify: true,
  sourcemap: "none",
  bytecode: false,
  format: "esm",
  // Dynamic imports become separate chunks inside the binary: a feature that is off (WhatsApp,
  // the dashboard) is never even parsed, which keeps start-up fast and idle memory low.
  splitting: true,
  define: {
    NGB_BUILD_VERSION: JSON.stringify(version),
    NGB_BUILD_COMMIT: JSON.stringify(commit),
  },
  // baileys is optional at runtime (WhatsApp only) and loaded lazily. Its optional media helpers
  // (image resizing, link previews, audio decoding) are loaded with a catch and unused here;
  // sharp is a native addon a compiled binary could not load anyway.
  external: ["sharp", "jimp", "link-preview-js", "audio-decode"],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
const size = Bun.file(outfile).size;
console.log(
  `built ${outfile} (${(size / 1024 / 1024).toFixed(1)} MB, ${version} ${commit}, agent context ${embedded.hash.slice(0, 12)}) in ${Math.round(performance.now() - started)} ms`,
);
