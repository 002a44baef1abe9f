/** What every API route module gets: the deps (with the runtime's status, the one live source) and recent errors. */
import type { RecentErrors } from "../recent-errors.ts";
import type { WebDeps } from "../types.ts";

export interface ApiContext {
  deps: WebDeps;
  errors: RecentErrors;
}

export function createApiContext(deps: WebDeps, errors: RecentErrors): ApiContext {
  return { deps, errors };
}
