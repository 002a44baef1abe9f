/** The id of this installation (its data dir), labelled on containers so orphans can be found. */
import { createHash } from "node:crypto";
import { resolve } from "node:path";

export function instanceIdOf(config: { dataDir: string }): string {
  return createHash("sha256").update(resolve(config.dataDir)).digest("hex").slice(0, 12);
}
