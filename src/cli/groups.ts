/** `ngb groups list|add|remove`: registered groups, straight on the store. */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import * as v from "valibot";
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
  return { config, log, store: openStore(storeFile(config)) };
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
      for (const u of store.outbound.usage()) {
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

const Folder = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/));

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
    withStore(args, async ({ config, store }) => {
      if (!v.is(Folder, args.folder))
        throw new UsageError(
          `--folder "${args.folder}": use lowercase letters, digits, - or _ (max 64, no leading -)`,
        );
      if (args.folder === "global") throw new UsageError(`--folder "global" is reserved for shared memory`);
      if (!/^[^\s]{3,256}$/.test(args.jid))
        throw new UsageError(`jid "${args.jid}": expected e.g. tg:123 or web:default`);
      if (args.trigger !== undefined) {
        try {
          new RegExp(args.trigger, "i");
        } catch (err) {
          throw new UsageError(`--trigger: not a valid regular expression (${(err as Error).message})`);
        }
      }
      const { GroupExistsError } = await import("../store/index.ts");
      let group: ReturnType<typeof store.groups.add>;
      try {
        group = store.groups.add({
          jid: args.jid,
          name: args.name ?? args.folder,
          folder: args.folder,
          triggerPattern: args.trigger ?? null,
          requiresTrigger: !args["no-trigger"] && !args.main,
          isMain: Boolean(args.main),
          containerConfig: null,
        });
      } catch (err) {
        if (err instanceof GroupExistsError) throw new UsageError(err.message);
        throw err;
      }
      const dir = join(config.groupsDir, group.folder);
      mkdirSync(join(dir, "logs"), { recursive: true });
      const memory = join(dir, "CLAUDE.md");
      if (!existsSync(memory))
        writeFileSync(
          memory,
          `# ${group.name}\n\nMemory for this group. The agent reads and updates this file.\n`,
        );
      if (args.json) process.stdout.write(`${JSON.stringify(group)}\n`);
      else process.stdout.write(`registered ${group.jid} as "${group.name}" (folder ${dir})\n`);
    }),
});

const remove = defineCommand({
  meta: { name: "remove", description: "Unregister a group (its folder and messages are kept)" },
  args: { ...globalArgs, jid: { type: "positional", description: "Chat id", required: true } },
  run: ({ args }) =>
    withStore(args, ({ store }) => {
      if (!store.groups.remove(args.jid)) throw new UsageError(`no registered group with jid "${args.jid}"`);
      process.stdout.write(`unregistered ${args.jid}\n`);
    }),
});

export default defineCommand({
  meta: { name: "groups", description: "List, register and remove groups" },
  subCommands: { list, add, remove },
});
