/** `ngb groups list|add|remove`: registered groups, through the group service on the store. */
import { join } from "node:path";
import { defineCommand } from "citty";
import { globalArgs, jsonArg, loadContext, printTable, UsageError } from "./common.ts";

async function withStore<T>(
  args: Parameters<typeof loadContext>[0],
  fn: (ctx: Awaited<ReturnType<typeof open>>) => T,
) {
  const ctx = await open(args);
  try {
    return await fn(ctx);
  } finally {
    ctx.store.close();
  }
}

async function open(args: Parameters<typeof loadContext>[0]) {
  const { config, log } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
  const { openStore, storeFile } = await import("../store/index.ts");
  const { createGroupService } = await import("../groups/index.ts");
  const { createEventBus } = await import("../events/index.ts");
  const store = openStore(storeFile(config));
  const groups = createGroupService({ store, events: createEventBus(), paths: config, log });
  return { config, log, store, groups };
}

/** The group service's refusals are the user's mistakes: one line, exit 1. */
async function asUsage<T>(fn: () => T): Promise<T> {
  const { GroupValidationError, GroupNotFoundError, GroupFolderError } = await import("../groups/index.ts");
  const { GroupExistsError } = await import("../store/index.ts");
  try {
    return fn();
  } catch (err) {
    // Name the flag the user typed: `--folder "errors": is reserved …`.
    if (err instanceof GroupValidationError)
      throw new UsageError(err.message.replace(/^(folder|trigger|name) /, "--$1 "));
    for (const cls of [GroupNotFoundError, GroupFolderError, GroupExistsError])
      if (err instanceof cls) throw new UsageError(err.message);
    throw err;
  }
}

function channelOfJid(jid: string, definitionForJid: (jid: string) => { name: string } | undefined): string {
  if (jid.startsWith("web:")) return "web";
  return definitionForJid(jid)?.name ?? "unknown";
}

const list = defineCommand({
  meta: { name: "list", description: "List registered groups (with tokens used), or discovered chats" },
  args: {
    ...globalArgs,
    ...jsonArg,
    discovered: { type: "boolean", description: "List chats the bot has seen that are not registered" },
  },
  run: ({ args }) =>
    withStore(args, async ({ store }) => {
      if (args.discovered) {
        const { definitionForJid } = await import("../channels/index.ts");
        const registered = new Set(store.groups.list().map((g) => g.jid));
        // Chats stored before their channel was known are named by the registry's jid rules.
        const chats = store.messages
          .chats()
          .filter((c) => !registered.has(c.jid))
          .map((c) =>
            c.channel === "unknown" ? { ...c, channel: channelOfJid(c.jid, definitionForJid) } : c,
          );
        if (args.json) return void process.stdout.write(`${JSON.stringify(chats)}\n`);
        return printTable(
          chats.map((c) => ({
            jid: c.jid,
            name: c.name,
            channel: c.channel,
            last_message: c.lastMessageAt ? new Date(c.lastMessageAt).toISOString() : null,
          })),
        );
      }
      const usage = new Map<string, { input: number; output: number }>();
      for (const u of store.usage.list()) {
        const cur = usage.get(u.groupFolder) ?? { input: 0, output: 0 };
        cur.input += u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens;
        cur.output += u.outputTokens;
        usage.set(u.groupFolder, cur);
      }
      const groups = store.groups.list().map((g) => ({
        ...g,
        tokens: usage.get(g.folder) ?? { input: 0, output: 0 },
      }));
      if (args.json) return void process.stdout.write(`${JSON.stringify(groups)}\n`);
      printTable(
        groups.map((g) => ({
          jid: g.jid,
          name: g.name,
          folder: g.folder,
          main: g.isMain ? "yes" : "",
          trigger: g.requiresTrigger ? (g.triggerPattern ?? "(default)") : "(always)",
          tokens_in: g.tokens.input,
          tokens_out: g.tokens.output,
        })),
      );
    }),
});

const add = defineCommand({
  meta: { name: "add", description: "Register a chat as a group" },
  args: {
    ...globalArgs,
    ...jsonArg,
    jid: {
      type: "positional",
      description: "Chat id, e.g. tg:-100123, web:default, 12345@g.us",
      required: true,
    },
    name: { type: "string", description: "Display name (default: the folder)" },
    folder: {
      type: "string",
      description: "Folder under groups/ (lowercase, digits, - and _)",
      required: true,
    },
    trigger: { type: "string", description: "Trigger regex (default ^@<assistant>\\b)" },
    "no-trigger": { type: "boolean", description: "Act on every message, not only triggered ones" },
    main: { type: "boolean", description: "Make this the main (admin) group" },
  },
  run: ({ args }) =>
    withStore(args, async ({ config, groups }) => {
      const group = await asUsage(() =>
        groups.register({
          jid: args.jid,
          name: args.name,
          folder: args.folder,
          triggerPattern: args.trigger ?? null,
          requiresTrigger: !args["no-trigger"] && !args.main,
          isMain: Boolean(args.main),
        }),
      );
      const dir = join(config.groupsDir, group.folder);
      if (args.json) process.stdout.write(`${JSON.stringify(group)}\n`);
      else process.stdout.write(`registered ${group.jid} as "${group.name}" (folder ${dir})\n`);
    }),
});

const remove = defineCommand({
  meta: { name: "remove", description: "Unregister a group (its folder and messages are kept)" },
  args: { ...globalArgs, jid: { type: "positional", description: "Chat id (or folder)", required: true } },
  run: ({ args }) =>
    withStore(args, async ({ groups }) => {
      const g = await asUsage(() => groups.remove(args.jid));
      process.stdout.write(`unregistered ${g.jid} (folder ${g.folder} kept)\n`);
    }),
});

export default defineCommand({
  meta: { name: "groups", description: "List, register and remove groups" },
  subCommands: { list, add, remove },
});
