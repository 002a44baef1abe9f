/** The plugins compiled into the binary; each is off unless named in `plugins.enabled`. */
import type { PluginDefinition } from "../types.ts";
import allowlist from "./allowlist.ts";
import autoReply from "./auto-reply.ts";
import mention from "./mention.ts";
import rateLimiter from "./rate-limiter.ts";

export const BUILTINS: readonly PluginDefinition[] = [
  allowlist,
  autoReply,
  mention,
  rateLimiter,
] as PluginDefinition[];
