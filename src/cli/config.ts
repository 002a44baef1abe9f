/** `ngb config show` (secrets redacted) and `ngb config schema` (JSON Schema of the config). */
import { defineCommand } from "citty";
import { globalArgs } from "./common.ts";

const show = defineCommand({
  meta: { name: "show", description: "Print the effective config, secrets redacted" },
  args: { ...globalArgs },
  async run({ args }) {
    const { loadConfig, redact } = await import("../config/index.ts");
    const { config, file, sources } = loadConfig({ configFile: args.config });
    process.stdout.write(
      `${JSON.stringify({ file: file ?? null, sources, config: redact(config) }, null, 2)}\n`,
    );
  },
});

const schema = defineCommand({
  meta: { name: "schema", description: "Print the JSON Schema of the config file" },
  args: {},
  async run() {
    const { configJsonSchema } = await import("../config/json-schema.ts");
    process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  },
});

export default defineCommand({
  meta: { name: "config", description: "Show the effective config or its JSON Schema" },
  subCommands: { show, schema },
});
