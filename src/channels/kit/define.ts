/**
 * A channel is one definition: its name, how it recognises its chat ids, its config section
 * (a valibot schema), which config keys are secrets, and a factory. The registry
 * (`src/channels/registry.ts`) lists the definitions; the config schema's `channels` section,
 * secret redaction, `ngb config schema`, `ngb doctor` and `groups list --discovered` are composed
 * from it. A definition module must stay light: `create` imports the adapter lazily.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { Logger } from "../../log/index.ts";
import type { Channel } from "../../orchestrator/channel.ts";
import type { Clock } from "./clock.ts";
import type { TokenCaches } from "./token-cache.ts";

/** A URL setting (API base URLs, webhook URLs): checked at start with a clear message. */
export const ConfigUrl = v.pipe(v.string(), v.url("must be a URL like https://host/path"));

/** What a channel's factory gets. */
export interface ChannelContext<TConfig> {
  /** The definition's name ("telegram"). */
  readonly name: string;
  /** The channel's parsed config section (`channels.<name>`), defaults filled in. */
  readonly config: TConfig;
  readonly assistantName: string;
  /** Where channels keep state on disk (auth files): the config's storeDir. */
  readonly storeDir: string;
  /** The host logger, untagged: adapters tag it (`log.withTag(name)`). */
  readonly log: Logger;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  /**
   * Routes the platform calls (webhooks, event subscriptions), served by the web server in
   * front of token auth: each route authenticates its caller itself. Created on first use; add
   * routes while `create` runs (routes added later are not mounted).
   */
  readonly webhooks: Hono;
  /** Access-token caches shared by key (one per app credential). */
  readonly tokens: TokenCaches;
  /**
   * Report a refused public request (a webhook call with a bad signature or body, a bad frame):
   * counted in /metrics as `ngb_public_requests_rejected_total{source,reason}`, sampled in the log.
   */
  readonly rejected: (reason: string) => void;
}

/** Schema of a definition's own config keys (`enabled` is added by the kit). */
export type ChannelConfigSchema<TEntries extends v.ObjectEntries> =
  | v.ObjectSchema<TEntries, undefined>
  | v.StrictObjectSchema<TEntries, undefined>;

/** Every section has `enabled` (default false). */
export type EnabledEntry = { enabled: v.OptionalSchema<v.BooleanSchema<undefined>, false> };

/** The parsed config section a factory receives. */
export type ChannelSectionConfig<TEntries extends v.ObjectEntries> = v.InferOutput<
  v.StrictObjectSchema<TEntries & EnabledEntry, undefined>
>;

export interface ChannelDefinition<
  TName extends string = string,
  TEntries extends v.ObjectEntries = v.ObjectEntries,
> {
  /** Config section and channel name: lowercase letters and digits. */
  readonly name: TName;
  /** For people: "Telegram", "Feishu / Lark". */
  readonly title: string;
  /** The prefix of the chat ids this channel owns ("tg:"); absent when ownsJid decides alone. */
  readonly jidPrefix?: string;
  /** Whether a chat id belongs to this channel (default: starts with jidPrefix). */
  ownsJid(jid: string): boolean;
  readonly configSchema: ChannelConfigSchema<TEntries>;
  /** Keys of the section whose values are secrets (redacted, never logged). */
  readonly secretKeys: readonly (keyof TEntries & string)[];
  /**
   * False when the platform refuses messages nobody asked for (QQ: replies only). Scheduled tasks
   * for such a channel's chats are refused when created, with `proactiveRefusal` as the reason.
   */
  readonly canSendProactively?: boolean;
  /** Why the channel cannot send proactively, in words for people. */
  readonly proactiveRefusal?: string;
  /** Extra environment names accepted for keys of the section: `{ NGB_TELEGRAM_BOT_TOKEN: "botToken" }`. */
  readonly envAliases?: Readonly<Record<string, keyof TEntries & string>>;
  /** Build the adapter (import it lazily here). Called only when the channel is enabled. */
  create(ctx: ChannelContext<ChannelSectionConfig<TEntries>>): Channel | Promise<Channel>;
}

/** A definition of any name and schema, as the registry holds them. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds definitions of every schema
export type AnyChannelDefinition = ChannelDefinition<string, any>;

export interface ChannelDefinitionInput<TName extends string, TEntries extends v.ObjectEntries>
  extends Omit<ChannelDefinition<TName, TEntries>, "ownsJid" | "secretKeys"> {
  ownsJid?: (jid: string) => boolean;
  secretKeys?: readonly (keyof TEntries & string)[];
}

const NAME = /^[a-z][a-z0-9]{1,31}$/;

/** Declare a channel. Checks the declaration itself (name, prefix, secret keys) at load time. */
export function defineChannel<const TName extends string, TEntries extends v.ObjectEntries>(
  input: ChannelDefinitionInput<TName, TEntries>,
): ChannelDefinition<TName, TEntries> {
  if (!NAME.test(input.name)) throw new Error(`channel name "${input.name}" must match ${NAME}`);
  if (input.name === "web") throw new Error(`channel name "web" is the built-in web channel`);
  const prefix = input.jidPrefix;
  if (prefix !== undefined && !/^[a-z][a-z0-9]*:$/.test(prefix))
    throw new Error(`channel ${input.name}: jidPrefix "${prefix}" must look like "name:"`);
  if (!prefix && !input.ownsJid) throw new Error(`channel ${input.name}: needs a jidPrefix or ownsJid`);
  const entries = input.configSchema.entries as v.ObjectEntries;
  if ("enabled" in entries) throw new Error(`channel ${input.name}: "enabled" is added by the kit`);
  for (const key of [...(input.secretKeys ?? []), ...Object.values(input.envAliases ?? {})])
    if (!(key in entries))
      throw new Error(`channel ${input.name}: "${key}" is not a key of its config schema`);
  const ownsJid = input.ownsJid ?? ((jid: string) => jid.startsWith(prefix!) && jid.length > prefix!.length);
  return { ...input, secretKeys: input.secretKeys ?? [], ownsJid };
}

/** The config section schema of a definition: its keys plus `enabled`, every default filled in. */
export function sectionSchema<TEntries extends v.ObjectEntries>(def: ChannelDefinition<string, TEntries>) {
  return v.optional(
    v.strictObject({ enabled: v.optional(v.boolean(), false), ...def.configSchema.entries } as TEntries &
      EnabledEntry),
    // valibot parses the default through the schema, filling in every inner default.
    {} as never,
  );
}

type EntriesOf<D> = D extends ChannelDefinition<string, infer E> ? E : never;
export type SectionSchema<TEntries extends v.ObjectEntries> = v.OptionalSchema<
  v.StrictObjectSchema<TEntries & EnabledEntry, undefined>,
  never
>;

/** `{ telegram: <section schema>, … }` for a list of definitions, typed per name. */
export type ChannelSections<TDefs extends readonly AnyChannelDefinition[]> = {
  [D in TDefs[number] as D["name"]]: SectionSchema<EntriesOf<D>>;
};

export function channelSections<const TDefs extends readonly AnyChannelDefinition[]>(
  defs: TDefs,
): ChannelSections<TDefs> {
  const out: Record<string, unknown> = {};
  for (const d of defs) {
    if (d.name in out) throw new Error(`two channel definitions are named "${d.name}"`);
    out[d.name] = sectionSchema(d);
  }
  return out as ChannelSections<TDefs>;
}
