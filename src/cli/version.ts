/** `ngb version`: version and commit, `--json` for scripts. */
import { defineCommand } from "citty";
import { COMMIT, VERSION } from "../version.ts";
import { jsonArg } from "./common.ts";

export default defineCommand({
  meta: { name: "version", description: "Print the version and git commit" },
  args: { ...jsonArg },
  run({ args }) {
    if (args.json)
      process.stdout.write(`${JSON.stringify({ version: VERSION, commit: COMMIT, bun: Bun.version })}\n`);
    else process.stdout.write(`ngb ${VERSION} (${COMMIT}) bun ${Bun.version}\n`);
  },
});
