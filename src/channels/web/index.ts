/** The built-in web channel (webchat) and the proactive-send route. */
import type { EventBus } from "../../events/index.ts";
import { registerGroup } from "../../orchestrator/index.ts";
import type { RegisteredGroup, Store } from "../../store/index.ts";
import { DEFAULT_CHAT_ID, WEB_PREFIX } from "./channel.ts";

export {
  createWebChannel,
  DEFAULT_CHAT_ID,
  WEB_PREFIX,
  type WebChannel,
  type WebChannelDeps,
  WebChatPost,
  type WebChatEvent,
  UnknownWebChatError,
} from "./channel.ts";
export { RunRequest, runRoutes, SendRequest, sendRoutes } from "./routes.ts";

/**
 * First start with no groups at all: register `web:default` as the main group (folder `main`,
 * every message triggers), so `ngb serve` + webchat works with no platform and no config.
 */
export function ensureDefaultWebGroup(deps: {
  store: Store;
  events: EventBus;
  groupsDir: string;
  dataDir: string;
}): RegisteredGroup | null {
  if (deps.store.groups.list().length > 0) return null;
  if (deps.store.groups.byFolder("main")) return null;
  return registerGroup(deps, {
    jid: `${WEB_PREFIX}${DEFAULT_CHAT_ID}`,
    name: "Web chat",
    folder: "main",
    triggerPattern: null,
    requiresTrigger: false,
    isMain: true,
  });
}
