/**
 * Version and git commit. `scripts/build.ts` injects both with `--define`; from source they fall
 * back to package.json's version and "dev".
 */
import pkg from "../package.json" with { type: "json" };

declare const NGB_BUILD_VERSION: string | undefined;
declare const NGB_BUILD_COMMIT: string | undefined;

export const VERSION: string = typeof NGB_BUILD_VERSION === "string" ? NGB_BUILD_VERSION : pkg.version;
export const COMMIT: string = typeof NGB_BUILD_COMMIT === "string" ? NGB_BUILD_COMMIT : "dev";
export const VERSION_STRING = `${VERSION} (${COMMIT})`;
