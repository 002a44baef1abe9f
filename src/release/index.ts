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
export {
  ChecksumError,
  compareVersions,
  fileChunks,
  formatSums,
  parseSums,
  sha256File,
  sha256Hex,
} from "./sums.ts";
