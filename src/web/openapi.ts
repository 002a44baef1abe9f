/**
 * The OpenAPI 3.1 document of the REST API, generated from the same valibot schemas that validate
 * requests (see api.ts), so it can't drift. Built once, on first request (the converter is lazy).
 */
import type * as v from "valibot";
import { VERSION } from "../version.ts";
import type { Operation } from "./api.ts";

type JsonSchema = Record<string, unknown>;

const ErrorBody: JsonSchema = {
  type: "object",
  required: ["error", "message"],
  properties: {
    error: {
      type: "string",
      description: "Machine-readable code: invalid_request, not_found, unauthorized…",
    },
    message: { type: "string", description: "One line saying what was wrong" },
  },
};

export async function buildOpenApi(ops: Operation[]): Promise<JsonSchema> {
  const { toJsonSchema } = await import("@valibot/to-json-schema");
  const convert = (schema: v.GenericSchema<unknown, unknown>): JsonSchema => {
    const { $schema: _drop, ...rest } = toJsonSchema(schema, {
      target: "draft-2020-12",
      typeMode: "input",
      errorMode: "ignore",
    }) as JsonSchema;
    return rest;
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of ops) {
    const path = op.path.replace(/:([A-Za-z]+)/g, "{$1}");
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ["path", op.params],
      ["query", op.query],
    ] as const) {
      if (!schema) continue;
      const js = convert(schema);
      const props = (js.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((js.required ?? []) as string[]);
      for (const [name, s] of Object.entries(props))
        parameters.push({ name, in: where, required: where === "path" || required.has(name), schema: s });
    }
    const ok = Object.entries(op.responses ?? { 200: "OK" });
    const responses: Record<string, unknown> = {};
    for (const [status, description] of ok)
      responses[status] = {
        description,
        content: {
          [op.produces ?? "application/json"]: {
            schema: op.produces ? { type: "string" } : { type: "object" },
          },
        },
      };
    for (const [status, description] of [
      ["400", "Invalid request (validation, malformed JSON)"],
      ["401", "Missing or wrong token"],
      ["404", "No such resource"],
      ["429", "Too many failed authentication attempts (see Retry-After)"],
    ] as const)
      responses[status] = { $ref: `#/components/responses/${status}`, description };
    if (op.body) responses["413"] = { $ref: "#/components/responses/413", description: "Body too large" };

    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[op.method] = {
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      operationId: `${op.method}${path.replace(/[{}]/g, "").replace(/[/.:-]+(\w)/g, (_m, ch: string) => ch.toUpperCase())}`,
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? { requestBody: { required: true, content: { "application/json": { schema: convert(op.body) } } } }
        : {}),
      responses,
    };
  }
  const errorResponse = (description: string) => ({
    description,
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  });
  return {
    openapi: "3.1.0",
    info: {
      title: "NanoGridBot API",
      version: VERSION,
      description:
        "REST API of `ngb serve`. Every endpoint needs `Authorization: Bearer <token>` (web.token, NGB_WEB_TOKEN or <dataDir>/web-token) " +
        "or the dashboard's session cookie. Errors are `{ error, message }`.",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }, { cookie: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer" },
        cookie: { type: "apiKey", in: "cookie", name: "ngb_session" },
      },
      schemas: { Error: ErrorBody },
      responses: {
        "400": errorResponse("Invalid request"),
        "401": errorResponse("Unauthorized"),
        "404": errorResponse("Not found"),
        "413": errorResponse("Payload too large"),
        "429": errorResponse("Rate limited"),
      },
    },
  };
}
