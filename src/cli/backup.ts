/** `ngb backup create | verify | restore`: one archive of the store, groups, sessions and config. */
import { defineCommand } from "citty";
import { resolve } from "node:path";
import { globalArgs, jsonArg, loadContext } from "./common.ts";

function defaultName(now = new Date()): string {
  return `ngb-backup-${now
    .toISOString()
    .replace(/[:.]/g, "-")
    .replace(/-\d{3}Z$/, "Z")}.tar.gz`;
}

const create = defineCommand({
  meta: { name: "create", description: "Write a consistent backup archive (safe while serve runs)" },
  args: {
    ...globalArgs,
    ...jsonArg,
    file: {
      type: "positional",
      required: false,
      description: "Archive to write (default ngb-backup-<time>.tar.gz)",
    },
    "include-secrets": {
      type: "boolean",
      description: "Also back up .env, the web token, WhatsApp's auth state and secret config values",
    },
  },
  async run({ args }) {
    const { config, configFile } = await loadContext(args);
    const { createBackup } = await import("../backup/index.ts");
    const { storeFile } = await import("../store/index.ts");
    const started = performance.now();
    const r = await createBackup({
      paths: {
        dbFile: storeFile(config),
        storeDir: config.storeDir,
        dataDir: config.dataDir,
        groupsDir: config.groupsDir,
        configFile,
        workDir: process.cwd(),
      },
      out: resolve(args.file || defaultName()),
      includeSecrets: Boolean(args["include-secrets"]),
    });
    const ms = Math.round(performance.now() - started);
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ file: r.file, bytes: r.bytes, ms, manifest: r.manifest })}\n`);
      return;
    }
    process.stdout.write(
      `wrote ${r.file}: ${r.manifest.entries.length} entries, ${(r.bytes / 1024 / 1024).toFixed(1)} MiB, schema ${r.manifest.schemaVersion}, ${r.manifest.includesSecrets ? "with" : "without"} secrets (${ms} ms)\n`,
    );
  },
});

const verify = defineCommand({
  meta: { name: "verify", description: "Check a backup archive against its manifest" },
  args: {
    ...jsonArg,
    file: { type: "positional", required: true, description: "Backup archive" },
  },
  async run({ args }) {
    const { verifyBackup } = await import("../backup/index.ts");
    const { manifest } = await verifyBackup(args.file, undefined, { checkDatabase: true });
    if (args.json) process.stdout.write(`${JSON.stringify({ ok: true, manifest })}\n`);
    else
      process.stdout.write(
        `ok: ${manifest.entries.length} entries match the manifest; ngb ${manifest.ngbVersion} (${manifest.commit}), schema ${manifest.schemaVersion}, created ${manifest.createdAt}\n`,
      );
  },
});

const restore = defineCommand({
  meta: { name: "restore", description: "Restore a backup onto a new, empty data directory" },
  args: {
    ...jsonArg,
    file: { type: "positional", required: true, description: "Backup archive" },
    "data-dir": {
      type: "string",
      required: true,
      description: "New directory to restore into (becomes the working directory of `ngb serve`)",
    },
  },
  async run({ args }) {
    const { restoreBackup } = await import("../backup/index.ts");
    const r = await restoreBackup(args.file, args["data-dir"]);
    if (args.json) process.stdout.write(`${JSON.stringify({ ok: true, dir: r.dir, entries: r.entries })}\n`);
    else
      process.stdout.write(
        `restored ${r.entries} entries into ${r.dir}${r.manifest.includesSecrets ? "" : " (no secrets: set the API key and channel tokens again)"}\nnext: cd ${r.dir} && ngb serve\n`,
      );
  },
});

export default defineCommand({
  meta: { name: "backup", description: "Back up, verify and restore the store, groups, sessions and config" },
  subCommands: { create, verify, restore },
});
