/**
 * HTTP-facing errors and the ONE mapping from error class names to statuses, used by the app's
 * `onError`. Anything not listed is a 500 with a generic message (never a stack or a secret).
 * A channel failure (`ChannelError`, also as the cause of a delivery error) maps by its kind.
 */
import { ChannelError, type ChannelErrorKind } from "../channels/index.ts";
export class NotFoundError extends Error {
  override name = "NotFoundError";
  constructor(
    readonly resource: string,
    readonly id: string,
  ) {
    super(`${resource} ${JSON.stringify(id)} not found`);
  }
}

export class ValidationError extends Error {
  override name = "ValidationError";
}

export class BadJsonError extends Error {
  override name = "BadJsonError";
}

export class UnavailableError extends Error {
  override name = "UnavailableError";
}

export class ConflictError extends Error {
  override name = "ConflictError";
}

export class PayloadTooLargeError extends Error {
  override name = "PayloadTooLargeError";
}

/** Error class name → [status, error code]. Includes classes from other modules by name. */
export const ERROR_STATUS: Record<string, [number, string]> = {
  ValidationError: [400, "invalid_request"],
  ValiError: [400, "invalid_request"],
  BadJsonError: [400, "invalid_json"],
  UserError: [400, "invalid_request"],
  ScheduleError: [400, "invalid_request"],
  TaskStateError: [409, "conflict"],
  UsageError: [400, "invalid_request"],
  NotFoundError: [404, "not_found"],
  GroupNotFoundError: [404, "not_found"],
  GroupValidationError: [400, "invalid_request"],
  GroupFolderError: [409, "conflict"],
  TaskNotFoundError: [404, "not_found"],
  ForbiddenError: [403, "forbidden"],
  TaskForbiddenError: [403, "forbidden"],
  TaskQuotaError: [403, "quota_exceeded"],
  AuthorizationError: [403, "forbidden"],
  ConflictError: [409, "conflict"],
  GroupExistsError: [409, "conflict"],
  PayloadTooLargeError: [413, "payload_too_large"],
  UnavailableError: [503, "unavailable"],
  PluginNotFoundError: [404, "not_found"],
  PluginError: [409, "conflict"],
};

/** A channel failure by kind: the platform refusing the request is the client's problem (400). */
export const CHANNEL_ERROR_STATUS: Record<ChannelErrorKind, [number, string]> = {
  refused: [400, "refused"],
  rate_limited: [429, "rate_limited"],
  auth: [502, "bad_gateway"],
  network: [502, "bad_gateway"],
  config: [503, "unavailable"],
};

/** The ChannelError behind `err` (itself or a cause, a few levels deep), if any. */
export function channelErrorOf(err: unknown): ChannelError | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && cur; depth++) {
    if (cur instanceof ChannelError) return cur;
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return undefined;
}

/** Messages of these are safe to show the client (they describe the client's own input). */
export function statusFor(err: unknown): { status: number; error: string; message: string } {
  if (err instanceof ChannelError) {
    const [status, error] = CHANNEL_ERROR_STATUS[err.kind];
    return { status, error, message: err.message.split("\n")[0] ?? "" };
  }
  const name = err instanceof Error ? err.name : "";
  const ctor = err instanceof Error ? err.constructor.name : "";
  const hit = ERROR_STATUS[name] ?? ERROR_STATUS[ctor];
  if (hit) return { status: hit[0], error: hit[1], message: (err as Error).message.split("\n")[0] ?? "" };
  return { status: 500, error: "internal", message: "internal error (see the server log)" };
}
