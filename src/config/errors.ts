import { UserError } from "../util/errors.ts";

/** A config problem a user must fix; the message is one line naming key, problem and form. */
export class ConfigError extends UserError {
  override name = "ConfigError";
}
