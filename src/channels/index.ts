/**
 * Channels: the registry of platform definitions and the kit they are built on. Importing this
 * module loads only the definitions (names, config schemas); an adapter is imported when its
 * channel is enabled, so a heavy one (baileys for WhatsApp) costs nothing unless switched on.
 */
export {
  type ChannelDeps,
  channelDefinition,
  channelDefinitions,
  createChannel,
  createEnabledChannels,
  definitionForJid,
  enabledChannelNames,
} from "./enabled.ts";
export {
  type AnyChannelDefinition,
  type ChannelContext,
  type ChannelDefinition,
  ChannelError,
  type ChannelErrorKind,
  channelSections,
  defineChannel,
  isPermanentChannelError,
} from "./kit/index.ts";
export { CHANNEL_DEFINITIONS } from "./registry.ts";
