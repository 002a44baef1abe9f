/**
 * When a group acts: the bot's own messages never trigger; a group with `requiresTrigger=false`
 * acts on every message; otherwise the group's pattern (or the assistant's default `^@<name>\b`)
 * must match, or the platform must say the bot was mentioned.
 */
import { type Config, defaultTrigger } from "../config/index.ts";
import type { RegisteredGroup } from "../store/index.ts";
import { compileTrigger, testTrigger } from "../util/safe-regex.ts";

export interface TriggerInput {
  content: string;
  isFromMe: boolean;
  isBot?: boolean;
  mentionsBot?: boolean;
}

/** Compiled patterns (a bounded memo of a pure function: pattern → regex or refusal). */
const cache = new Map<string, RegExp | null>();

/**
 * The trigger regex of a group; a stored pattern that is invalid or unsafe (catastrophic
 * backtracking: it was stored before patterns were checked) falls back to the default.
 */
export function triggerRegex(group: Pick<RegisteredGroup, "triggerPattern">, config: Config): RegExp {
  if (!group.triggerPattern) return defaultTrigger(config);
  let re = cache.get(group.triggerPattern);
  if (re === undefined) {
    try {
      re = compileTrigger(group.triggerPattern);
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
  // Only the first few KiB are matched: a huge message costs no more than a small one.
  return testTrigger(triggerRegex(group, config), msg.content.trim());
}
