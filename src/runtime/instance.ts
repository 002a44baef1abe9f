/** The id of this installation (its data dir), labelled on containers so orphans can be found. */
import { sha256 } from "../util/crypto.ts";
import { resolve } from "node:path";

export function instanceIdOf(config: { dataDir: string }): string {
  return sha256(resolve(config.dataDir)).toString("hex").slice(0, 12);
}
