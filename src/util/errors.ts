/**
 * Base class for errors caused by the user's input (config, CLI arguments, files). The CLI
 * prints their message as one line and exits 1, never a stack trace.
 */
export class UserError extends Error {
  override name = "UserError";
}

/** Message of anything thrown, for one-line logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
