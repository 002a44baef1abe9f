/**
 * A tiny route registry over Hono: each API route declares its valibot schemas (path params,
 * query, JSON body) once; they validate the request (400 with a one-line reason) and feed the
 * OpenAPI document, so the document can't drift from the code.
 */
import { type Context, Hono } from "hono";
import * as v from "valibot";
import { BadJsonError, NotFoundError, ValidationError } from "./errors.ts";

type Schema = v.GenericSchema<unknown, unknown>;
type Out<S> = S extends Schema ? v.InferOutput<S> : undefined;
type Method = "get" | "post" | "patch" | "put" | "delete";

export interface Operation {
  method: Method;
  /** Hono path (`/api/groups/:folder`). */
  path: string;
  summary: string;
  tag: string;
  description?: string;
  params?: Schema;
  query?: Schema;
  body?: Schema;
  /** Status → description of the success responses (errors are documented globally). */
  responses?: Record<number, string>;
  /** Response content other than JSON (text/event-stream, text/plain…). */
  produces?: string;
}

export interface RouteDef<P, Q, B> extends Omit<Operation, "params" | "query" | "body"> {
  params?: P;
  query?: Q;
  body?: B;
}

export interface Input<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
}

/** "field.sub: message" for the first issue: one clear line. */
export function describeIssues(where: string, issues: v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  if (!first) return `invalid ${where}`;
  const path = v.getDotPath(first);
  return `${where}${path ? ` ${path}` : ""}: ${first.message}`;
}

function parse<S extends Schema>(schema: S, value: unknown, where: string): v.InferOutput<S> {
  const r = v.safeParse(schema, value);
  if (!r.success) throw new ValidationError(describeIssues(where, r.issues));
  return r.output;
}

async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadJsonError("request body is not valid JSON");
  }
}

export function createApi() {
  const app = new Hono();
  const ops: Operation[] = [];
  function route<
    P extends Schema | undefined = undefined,
    Q extends Schema | undefined = undefined,
    B extends Schema | undefined = undefined,
  >(
    def: RouteDef<P, Q, B>,
    handler: (c: Context, input: Input<P, Q, B>) => Response | Promise<Response>,
  ): void {
    ops.push(def as Operation);
    app[def.method](def.path, async (c) => {
      let params: unknown;
      if (def.params) {
        const r = v.safeParse(def.params as Schema, c.req.param());
        // A malformed id can't name anything: 404 for an id that only fails its pattern would
        // hide typos, so say why (400) — but never echo more than the field name.
        if (!r.success) throw new ValidationError(describeIssues("path", r.issues));
        params = r.output;
      }
      const query = def.query ? parse(def.query as Schema, c.req.query(), "query") : undefined;
      const body = def.body ? parse(def.body as Schema, (await readJson(c)) ?? {}, "body") : undefined;
      return handler(c, { params, query, body } as Input<P, Q, B>);
    });
  }
  return { app, ops, route };
}

export type Api = ReturnType<typeof createApi>;

export function must<T>(value: T | null | undefined, resource: string, id: string): T {
  if (value === null || value === undefined) throw new NotFoundError(resource, id);
  return value;
}

// ---- shared field schemas -------------------------------------------------------------------

/** Chat address: `<prefix>:<id>` or a WhatsApp JID. No slashes, no `..`, no control characters. */
export const Jid = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_][A-Za-z0-9_.:@+=-]{0,199}$/, "must be a chat id like tg:123 or 123@g.us"),
  v.check((s) => !s.includes(".."), "must not contain '..'"),
);
/** Group folder name: one path segment. */
export const Folder = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "must be letters, digits, '-' or '_' (max 64)"),
);
export const TaskId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "must be a task id"));
export const ContainerName = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "must be a container name"),
  v.check((s) => !s.includes(".."), "must not contain '..'"),
);
/** A non-negative integer in a query string. */
export const IntString = (max = Number.MAX_SAFE_INTEGER) =>
  v.pipe(
    v.string(),
    v.regex(/^\d{1,16}$/, "must be a non-negative integer"),
    v.transform(Number),
    v.number(),
    v.maxValue(max),
  );
/** Epoch ms or an ISO date/time in a query string. */
export const TimeString = v.pipe(
  v.string(),
  v.transform((s) => (/^\d{1,16}$/.test(s) ? Number(s) : Date.parse(s))),
  v.number(),
  v.check((n) => Number.isFinite(n), "must be epoch milliseconds or an ISO date like 2026-01-31"),
);
