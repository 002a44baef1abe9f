/**
 * When a group acts: the bot's own messages never trigger; a group with `requiresTrigger=false`
 * acts on every message; otherwise the group's pattern (or the assistant's default `^@<name>\b`)
 * must match, or the platform must say the bot was mentioned.
 */
import { type Config, defaultTrigger } from "../config/index.ts";
import type { RegisteredGroup } from "../store/index.ts";

export interface TriggerInput {
  content: string;
  isFromMe: boolean;
  isBot?: boolean;
  mentionsBot?: boolean;
}

const cache = new Map<string, RegExp | null>();

/** The trigger regex of a group; an invalid stored pattern falls back to the default. */
export function triggerRegex(group: Pick<RegisteredGroup, "triggerPattern">, config: Config): RegExp {
  if (!group.triggerPattern) return defaultTrigger(config);
  let re = cache.get(group.triggerPattern);
  if (re === undefined) {
    try {
      re = new RegExp(group.triggerPattern, "i");
    } catch {
      re = null;
    }
    if (cache.size > 1000) cache.clear();
    cache.set(group.triggerPattern, re);
  }
  return re ?? defaultTrigger(config);
}

export function isTriggered(
  msg: TriggerInput,
  group: Pick<RegisteredGroup, "triggerPattern" | "requiresTrigger">,
  config: Config,
): boolean {
  if (msg.isFromMe || msg.isBot) return false;
  if (!group.requiresTrigger) return true;
  if (msg.mentionsBot) return true;
  return triggerRegex(group, config).test(msg.content.trim());
}
