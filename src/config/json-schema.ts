/** JSON Schema of the config file, generated from the valibot schema (one source of truth). */
import { toJsonSchema } from "@valibot/to-json-schema";
import { Config } from "./schema.ts";

export function configJsonSchema(): Record<string, unknown> {
  const schema = toJsonSchema(Config, { errorMode: "ignore" }) as Record<string, unknown>;
  const props = (schema.properties ?? {}) as Record<string, unknown>;
  return {
    ...schema,
    title: "NanoGridBot config (ngb.config.json)",
    properties: { $schema: { type: "string" }, ...props },
  };
}
