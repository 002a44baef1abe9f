/**
 * `allowlist`: who may talk to the bot, per group. A group listed in `groups` accepts only those
 * sender ids ("*" = anyone); groups not listed use `default` (absent = anyone). Messages from
 * others are dropped: stored, marked "allowlist", never reach the agent.
 */
import * as v from "valibot";
import { definePlugin } from "../define.ts";

const Senders = v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(200))), v.maxLength(10_000));

export const AllowlistConfig = v.strictObject({
  /** Group folder → sender ids allowed there. */
  groups: v.optional(v.record(v.string(), Senders), {}),
  /** For groups not in `groups`; leave out to allow everyone there. */
  default: v.optional(Senders),
  /** Told to the chat when someone not allowed writes (once per sender); false for silence. */
  notice: v.optional(
    v.union([v.pipe(v.string(), v.minLength(1), v.maxLength(2000)), v.literal(false)]),
    false,
  ),
});

export default definePlugin({
  name: "allowlist",
  version: "1.0.0",
  description: "Who may talk to the bot, per group",
  config: AllowlistConfig,
  setup(api) {
    const { notice } = api.config;
    const lists = new Map(Object.entries(api.config.groups).map(([k, s]) => [k, new Set(s)]));
    const fallback = api.config.default ? new Set(api.config.default) : null;
    const told = new Set<string>();
    api.on(
      "message.received",
      (m) => {
        if (!m.group || m.isFromMe || m.isBot) return;
        const allowed = lists.get(m.group.folder) ?? fallback;
        if (!allowed || allowed.has("*") || allowed.has(m.sender)) return;
        const key = `${m.chatJid}\u0000${m.sender}`;
        if (notice && !told.has(key) && told.size < 10_000) {
          told.add(key);
          api.send(m.chatJid, notice).catch((err) => api.log.warn("notice not sent", { error: String(err) }));
        }
        return { drop: `allowlist: ${m.sender} may not talk to the bot in ${m.group.folder}` };
      },
      { priority: 100, timeoutMs: 500 },
    );
  },
});
