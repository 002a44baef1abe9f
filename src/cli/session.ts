/** `ngb session list|show|reset`: the Claude session each group resumes, straight on the store. */
import { defineCommand } from "citty";
import type { Store } from "../store/index.ts";
import { globalArgs, jsonArg, loadContext, printTable, UsageError } from "./common.ts";

type Args = Parameters<typeof loadContext>[0];

async function withStore<T>(args: Args, fn: (store: Store) => T): Promise<Awaited<T>> {
  const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
  const { openStore, storeFile } = await import("../store/index.ts");
  const store = openStore(storeFile(config));
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

/** A group by folder or jid. */
function findGroup(store: Store, ref: string) {
  const g = store.groups.byFolder(ref) ?? store.groups.get(ref);
  if (!g)
    throw new UsageError(`no registered group "${ref}" (give its folder or jid; see \`ngb groups list\`)`);
  return g;
}

const groupArg = { type: "positional", description: "Group folder (or jid)", required: true } as const;

const list = defineCommand({
  meta: { name: "list", description: "List stored sessions" },
  args: { ...globalArgs, ...jsonArg },
  run: ({ args }) =>
    withStore(args, (store) => {
      const rows = store.groups.sessions();
      if (args.json) return void process.stdout.write(`${JSON.stringify(rows)}\n`);
      printTable(
        rows.map((r) => ({
          group: r.groupFolder,
          session: r.sessionId,
          updated: new Date(r.updatedAt).toISOString(),
        })),
      );
    }),
});

const show = defineCommand({
  meta: { name: "show", description: "Show the session a group resumes" },
  args: { ...globalArgs, ...jsonArg, group: groupArg },
  run: ({ args }) =>
    withStore(args, (store) => {
      const g = findGroup(store, args.group);
      const s = store.groups.sessions().find((r) => r.groupFolder === g.folder) ?? null;
      if (args.json) return void process.stdout.write(`${JSON.stringify({ group: g.folder, session: s })}\n`);
      if (!s) return void process.stdout.write(`${g.folder}: no session (the next run starts a fresh one)\n`);
      process.stdout.write(`${g.folder}: ${s.sessionId} (updated ${new Date(s.updatedAt).toISOString()})\n`);
    }),
});

const reset = defineCommand({
  meta: { name: "reset", description: "Forget a group's session: its next run starts a fresh conversation" },
  args: { ...globalArgs, group: groupArg },
  run: ({ args }) =>
    withStore(args, (store) => {
      const g = findGroup(store, args.group);
      const had = store.groups.session(g.folder);
      store.groups.clearSession(g.folder);
      process.stdout.write(
        had ? `${g.folder}: session ${had} forgotten\n` : `${g.folder}: had no session; nothing to reset\n`,
      );
    }),
});

export default defineCommand({
  meta: { name: "session", description: "Show or reset a group's Claude session" },
  subCommands: { list, show, reset },
});
