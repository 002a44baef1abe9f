/**
 * HTTP-facing errors and the ONE mapping from error class names to statuses, used by the app's
 * `onError`. Anything not listed is a 500 with a generic message (never a stack or a secret).
 */
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
  TaskNotFoundError: [404, "not_found"],
  ForbiddenError: [403, "forbidden"],
  TaskForbiddenError: [403, "forbidden"],
  AuthorizationError: [403, "forbidden"],
  ConflictError: [409, "conflict"],
  GroupExistsError: [409, "conflict"],
  PayloadTooLargeError: [413, "payload_too_large"],
  UnavailableError: [503, "unavailable"],
  PluginNotFoundError: [404, "not_found"],
  PluginError: [409, "conflict"],
};

/** Messages of these are safe to show the client (they describe the client's own input). */
export function statusFor(err: unknown): { status: number; error: string; message: string } {
  const name = err instanceof Error ? err.name : "";
  const ctor = err instanceof Error ? err.constructor.name : "";
  const hit = ERROR_STATUS[name] ?? ERROR_STATUS[ctor];
  if (hit) return { status: hit[0], error: hit[1], message: (err as Error).message.split("\n")[0] ?? "" };
  return { status: 500, error: "internal", message: "internal error (see the server log)" };
}
