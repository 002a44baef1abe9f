/** Release naming, platforms and checksums (see platform.ts, sums.ts). */
export {
  archiveName,
  currentPlatform,
  isMuslExecutable,
  type Platform,
  PLATFORMS,
  parseArchiveName,
  platformFor,
  UnsupportedPlatformError,
} from "./platform.ts";
export { ChecksumError, compareVersions, formatSums, parseSums, sha256File, sha256Hex } from "./sums.ts";

/** Where releases are published (GitHub's layout: `<base>/latest/download/<asset>`,
 * `<base>/download/v<version>/<asset>`). `NGB_RELEASE_URL` / `releaseUrl` override it. */
export const DEFAULT_RELEASE_URL = "https://github.com/nanogridbot/nanogridbot/releases";
