/**
 * Building channels from their definitions: every enabled section of `config.channels` gets its
 * definition's factory with a context (config section, log, fetch, clock, webhook routes, the
 * shared token caches). A section enabled with no definition is a start-up error naming it.
 */
import type { Hono } from "hono";
import type { Config } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { Channel } from "../orchestrator/channel.ts";
import { type Clock, systemClock } from "./kit/clock.ts";
import type { AnyChannelDefinition, ChannelContext } from "./kit/define.ts";
import { ChannelError } from "./kit/errors.ts";
import { createTokenCaches, type TokenCaches } from "./kit/token-cache.ts";
import { CHANNEL_DEFINITIONS } from "./registry.ts";

export interface ChannelDeps {
  config: Config;
  log: Logger;
  fetch?: typeof fetch;
  clock?: Clock;
  /** Shared across channels (default: a new set). */
  tokens?: TokenCaches;
  /** Serve a channel's webhook routes on the web server, in front of token auth. */
  mountWebhooks?: (routes: Hono, channel: string) => void;
  /** Counts and samples refused public requests (src/web/rejections.ts). */
  rejections?: { reject(source: string, reason: string): void };
}

/** Every channel definition in this build, in registry order. */
export function channelDefinitions(): readonly AnyChannelDefinition[] {
  return CHANNEL_DEFINITIONS;
}

export function channelDefinition(name: string): AnyChannelDefinition | undefined {
  return CHANNEL_DEFINITIONS.find((d) => d.name === name);
}

/** The definition that owns a chat id, if any (the built-in web channel is not a definition). */
export function definitionForJid(jid: string): AnyChannelDefinition | undefined {
  return CHANNEL_DEFINITIONS.find((d) => d.ownsJid(jid));
}

function sections(config: Config): Record<string, { enabled?: unknown } | undefined> {
  return config.channels as unknown as Record<string, { enabled?: unknown } | undefined>;
}

/**
 * Names of the platform channels enabled in the config (the built-in web channel not included).
 * Throws when a section is enabled that no definition knows.
 */
export function enabledChannelNames(config: Config): string[] {
  const all = sections(config);
  for (const [name, section] of Object.entries(all)) {
    if (name === "web" || section?.enabled !== true || channelDefinition(name)) continue;
    throw new ChannelError(
      name,
      "config",
      `channels.${name} is enabled but this build has no channel named "${name}" (known: ${CHANNEL_DEFINITIONS.map((d) => d.name).join(", ")})`,
    );
  }
  return CHANNEL_DEFINITIONS.filter((d) => all[d.name]?.enabled === true).map((d) => d.name);
}

/** Build one channel from its definition (enabled or not: `doctor` may verify any). */
export async function createChannel(def: AnyChannelDefinition, deps: ChannelDeps): Promise<Channel> {
  const { Hono } = await import("hono");
  let routes: Hono | undefined;
  const ctx: ChannelContext<unknown> = {
    name: def.name,
    config: sections(deps.config)[def.name],
    assistantName: deps.config.assistantName,
    storeDir: deps.config.storeDir,
    log: deps.log,
    fetch: deps.fetch ?? fetch,
    clock: deps.clock ?? systemClock,
    get webhooks() {
      routes ??= new Hono();
      return routes;
    },
    tokens: deps.tokens ?? createTokenCaches(),
    rejected: (reason) => {
      if (deps.rejections) deps.rejections.reject(def.name, reason);
      else deps.log.withTag(def.name).warn("refused a request", { reason });
    },
  };
  const channel = await def.create(ctx as never);
  if (channel.name !== def.name)
    throw new ChannelError(def.name, "config", `channel ${def.name} built a channel named "${channel.name}"`);
  if (routes) deps.mountWebhooks?.(routes, def.name);
  return channel;
}

/** Build every enabled platform channel, sharing one set of token caches. */
export async function createEnabledChannels(deps: ChannelDeps): Promise<Channel[]> {
  const shared = { ...deps, tokens: deps.tokens ?? createTokenCaches() };
  const out: Channel[] = [];
  for (const name of enabledChannelNames(deps.config))
    out.push(await createChannel(channelDefinition(name)!, shared));
  return out;
}
