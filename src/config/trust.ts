/**
 * The config file and `.env` hold every secret and decide what agents may do: one that another
 * local user can rewrite is refused at `ngb serve` start, with the file, its mode and the fix,
 * unless the operator passes `--allow-insecure-config` (or NGB_ALLOW_INSECURE_CONFIG=1 in the
 * environment); then every start logs a loud warning instead.
 */
import type { Logger } from "../log/index.ts";
import { unsafeToTrust } from "../util/private-fs.ts";
import { ConfigError } from "./errors.ts";

export interface TrustOptions {
  allowInsecure: boolean;
  log?: Logger;
}

/** Problems with the files (one line each), or an empty list. */
export function configFileProblems(files: readonly (string | undefined)[]): string[] {
  return files.flatMap((f) => {
    const problem = f ? unsafeToTrust(f) : null;
    return problem ? [problem] : [];
  });
}

/** Throws a ConfigError for the first unsafe file, or warns for each when allowed. */
export function assertTrustedConfigFiles(
  files: readonly (string | undefined)[],
  options: TrustOptions,
): void {
  const problems = configFileProblems(files);
  if (problems.length === 0) return;
  if (!options.allowInsecure)
    throw new ConfigError(
      `refusing to start: ${problems[0]} (another local user could change ngb's settings or read its secrets; to run anyway, start with --allow-insecure-config)`,
    );
  for (const p of problems)
    options.log?.warn(`INSECURE CONFIG, started anyway (--allow-insecure-config): ${p}`);
}
