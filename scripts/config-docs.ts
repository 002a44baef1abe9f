/**
 * Print the configuration reference (every key, its env variable, type and default) as a
 * Markdown table, generated from the one config schema. README's table is this output.
 */
import { envNameFor, SECRET_KEYS } from "../src/config/index.ts";
import { Config } from "../src/config/schema.ts";

// biome-ignore lint/suspicious/noExplicitAny: walking valibot's schema objects
type AnySchema = any;

function describe(schema: AnySchema): { type: string; def: unknown } {
  let s = schema;
  let def: unknown;
  while (s.type === "optional") {
    if (def === undefined && s.default !== undefined)
      def = typeof s.default === "function" ? undefined : s.default;
    s = s.wrapped;
  }
  const type =
    s.type === "picklist" ? s.options.join(" \\| ") : s.type === "strict_object" ? "object" : s.type;
  return { type, def };
}

function rows(schema: AnySchema, prefix = ""): string[] {
  let s = schema;
  while (s.type === "optional") s = s.wrapped;
  const out: string[] = [];
  for (const [key, child] of Object.entries(s.entries as Record<string, AnySchema>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const { type, def } = describe(child);
    if (type === "object") {
      out.push(...rows(child, path));
      continue;
    }
    const shown = SECRET_KEYS.has(path) ? "(secret)" : def === undefined ? "" : `\`${JSON.stringify(def)}\``;
    out.push(`| \`${path}\` | \`${envNameFor(path)}\` | ${type} | ${shown} |`);
  }
  return out;
}

console.log("| key | environment | type | default |\n|---|---|---|---|");
console.log(rows(Config).join("\n"));
