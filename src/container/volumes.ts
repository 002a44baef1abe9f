/**
 * Per-group volumes on the engine (`container.transport: "stdio"`): the group folder and the
 * Claude session live in named volumes (`ngb-<instance>-<folder>-group`, `…-session`), the
 * global memory and the main group's view of every group in two shared read-only volumes
 * (`ngb-<instance>-global`, `ngb-<instance>-groups`). Nothing of the host's file system is
 * mounted, so the engine may be another machine.
 *
 * Files move with a short helper container of the agent image (no network, no capabilities,
 * read-only root, only the one volume mounted) that reads or writes JSON on its stdio; the host
 * decides what moves by the rule in sync-files.ts and keeps the hashes of the last sync in
 * `<dataDir>/sync/<name>.json` (host-only).
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import * as v from "valibot";
import { CONTAINER_PATHS } from "../protocol/index.ts";
import { randomHex } from "../util/crypto.ts";
import { errorMessage } from "../util/errors.ts";
import { AGENT_UID, LABELS } from "./args.ts";
import { engineError, isEngineFailure, type SpawnFn } from "./cli.ts";
import {
  collectHostFiles,
  conflictName,
  isSyncPath,
  MAX_SYNC_FILE_BYTES,
  MAX_SYNC_FILES,
  planIn,
  planOut,
  type SyncFile,
  type SyncState,
} from "./sync-files.ts";

export interface GroupVolumes {
  group: string;
  session: string;
  global: string;
  groups: string;
}

/** Docker volume names allow [a-zA-Z0-9][a-zA-Z0-9_.-]; folders and instance ids fit. */
export function volumeNames(instanceId: string, folder: string): GroupVolumes {
  const base = `ngb-${instanceId}`;
  return {
    group: `${base}-${folder}-group`,
    session: `${base}-${folder}-session`,
    global: `${base}-global`,
    groups: `${base}-groups`,
  };
}

/** A volume operation failed: `engine` when the engine could not be reached, else `setup`. */
export class VolumeError extends Error {
  override name = "VolumeError";
  constructor(
    message: string,
    readonly failure: "engine" | "setup",
  ) {
    super(message);
  }
}

/** Runs one CLI command (after the binary); throws VolumeError. */
export type VolumeRun = (args: string[], input?: string, timeoutMs?: number) => Promise<string>;

export interface HelperSpec {
  volume: string;
  target: string;
  mode: "put" | "get";
  /** uid:gid the helper runs as. */
  user: string;
  image: string;
  instanceId: string;
  /** The helper's program (run with `bun -e`). */
  script: string;
}

/** How one engine keeps volumes and runs the sync helper against one of them. */
export interface VolumeBackend {
  /** Makes sure the volumes exist; returns the names that had to be created. */
  ensure(run: VolumeRun, wanted: { name: string; folder?: string }[], instanceId: string): Promise<string[]>;
  /** Arguments of a helper run with stdin attached that ends by itself. */
  helperArgs(h: HelperSpec): string[];
}

/** Named docker volumes; one `volume inspect` for all of them per run. */
export const dockerVolumes: VolumeBackend = {
  async ensure(run, wanted, instanceId) {
    const inspect = async (names: string[]) => {
      try {
        await run(["volume", "inspect", "--format", "{{.Name}}", ...names], undefined, 20_000);
        return true;
      } catch (err) {
        if ((err as VolumeError).failure === "engine") throw err;
        return false;
      }
    };
    if (await inspect(wanted.map((w) => w.name))) return [];
    const created: string[] = [];
    for (const { name, folder } of wanted) {
      if (await inspect([name])) continue;
      const labels = ["--label", `${LABELS.managed}=true`, "--label", `${LABELS.instance}=${instanceId}`];
      if (folder) labels.push("--label", `${LABELS.group}=${folder}`);
      await run(["volume", "create", ...labels, name], undefined, 20_000);
      created.push(name);
    }
    return created;
  },
  helperArgs: (h) => [
    "run",
    "-i",
    "--rm",
    "--name",
    `ngb-sync-${randomHex(4)}`,
    "--label",
    `${LABELS.managed}=true`,
    "--label",
    `${LABELS.instance}=${h.instanceId}`,
    "--network",
    "none",
    "--user",
    h.user,
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--read-only",
    "--memory",
    "256m",
    "--mount",
    `type=volume,source=${h.volume},target=${h.target}${h.mode === "get" ? ",readonly" : ""}`,
    "-e",
    `NGB_SYNC_ROOT=${h.target}`,
    "-e",
    `NGB_SYNC_MODE=${h.mode}`,
    "--entrypoint",
    "bun",
    h.image,
    "-e",
    h.script,
  ],
};

export interface VolumeDeps {
  backend?: VolumeBackend;
  /** Whether a failed command's stderr means the engine is unreachable. */
  isEngineFailure?: (stderr: string) => boolean;
  spawn: SpawnFn;
  bin: string;
  image: string;
  instanceId: string;
  env: () => Record<string, string | undefined>;
  /** `<dataDir>/sync`: host-only state of the last syncs. */
  stateDir: string;
  groupsDir: string;
  log: {
    info(m: string, d?: Record<string, unknown>): void;
    warn(m: string, d?: Record<string, unknown>): void;
  };
  clock?: () => Date;
}

/**
 * Runs in the helper container (Bun is the image's runtime). put: reads
 * {clear, remove[], files[{path,b64}]} and applies it under the root; get: prints the root's
 * `*.md` files (depth ≤ 2, no symlinks, size-capped) as [{path,b64}].
 */
const HELPER = `
const fs=require("node:fs"),path=require("node:path");
const root=process.env.NGB_SYNC_ROOT,mode=process.env.NGB_SYNC_MODE;
const SEG=/^[A-Za-z0-9_][A-Za-z0-9._ -]{0,127}$/;
const safe=p=>typeof p==="string"&&p.split("/").length<=4&&p.split("/").every(s=>SEG.test(s));
(async()=>{
if(mode==="put"){
  const job=JSON.parse(await Bun.stdin.text());
  if(job.clear)for(const e of fs.readdirSync(root))fs.rmSync(path.join(root,e),{recursive:true,force:true});
  for(const p of job.remove)if(safe(p))fs.rmSync(path.join(root,p),{force:true});
  for(const f of job.files){
    if(!safe(f.path))continue;
    const full=path.join(root,f.path);
    let dir=root;
    for(const s of f.path.split("/").slice(0,-1)){dir=path.join(dir,s);
      const st=fs.lstatSync(dir,{throwIfNoEntry:false});
      if(st&&!st.isDirectory())fs.rmSync(dir,{force:true});
      if(!st||!st.isDirectory())fs.mkdirSync(dir,{mode:0o775});}
    fs.rmSync(full,{force:true,recursive:true});
    fs.writeFileSync(full,Buffer.from(f.b64,"base64"),{mode:0o664,flag:"wx"});
  }
  process.stdout.write("ok\\n");
}else{
  const out=[];let total=0;
  const walk=(dir,rel,level)=>{let es;try{es=fs.readdirSync(dir,{withFileTypes:true})}catch{return}
    for(const e of es.sort((a,b)=>a.name<b.name?-1:1)){const p=rel?rel+"/"+e.name:e.name,full=path.join(dir,e.name);
      if(e.isDirectory()&&level<2&&e.name!=="logs"&&!e.name.startsWith(".")){walk(full,p,level+1);continue}
      if(!e.isFile()||!p.endsWith(".md")||!safe(p)||out.length>=${MAX_SYNC_FILES})continue;
      const st=fs.lstatSync(full);if(!st.isFile()||st.size>${MAX_SYNC_FILE_BYTES}||total+st.size>${16 * 1024 * 1024})continue;
      total+=st.size;out.push({path:p,b64:fs.readFileSync(full).toString("base64")});}};
  walk(root,"",1);
  process.stdout.write(JSON.stringify(out));
}})().catch(e=>{process.stderr.write(String(e&&e.message||e)+"\\n");process.exit(1)});
`;

const Pulled = v.pipe(
  v.array(v.object({ path: v.pipe(v.string(), v.maxLength(600)), b64: v.string() })),
  v.maxLength(MAX_SYNC_FILES),
);

export interface VolumeManager {
  /**
   * Creates what is missing and syncs host → volumes; throws VolumeError. `signal` cancels the
   * commands in flight (the run was stopped).
   */
  prepare(folder: string, isMain: boolean, signal?: AbortSignal): Promise<GroupVolumes>;
  /** Syncs the group volume's memory files → the host folder; throws VolumeError. */
  collect(folder: string): Promise<{ written: number; removed: number; conflicts: number }>;
}

export function createVolumeManager(deps: VolumeDeps): VolumeManager {
  const { spawn, bin, image, instanceId, stateDir, groupsDir, log } = deps;
  const clock = deps.clock ?? (() => new Date());
  const backend = deps.backend ?? dockerVolumes;
  const engineDown = deps.isEngineFailure ?? isEngineFailure;
  let shared = Promise.resolve();

  /** One command; `signal` kills it (the run it prepares was stopped). */
  async function run(args: string[], input?: string, timeoutMs = 60_000, signal?: AbortSignal) {
    if (signal?.aborted) throw new VolumeError("stopped", "setup");
    let p: ReturnType<SpawnFn>;
    try {
      p = spawn([bin, ...args], { env: deps.env() });
    } catch (err) {
      throw new VolumeError(engineError(errorMessage(err)), "engine");
    }
    try {
      if (input !== undefined) p.stdin.write(input);
      p.stdin.end();
    } catch {
      // the process is gone; its exit code says why
    }
    const timer = setTimeout(() => p.kill(9), timeoutMs);
    const onAbort = () => p.kill(9);
    signal?.addEventListener("abort", onAbort);
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    });
    if (signal?.aborted) throw new VolumeError("stopped", "setup");
    if (code !== 0) {
      const line = stderr.trim().split("\n")[0]?.slice(0, 300) ?? `exit ${code}`;
      if (engineDown(stderr) || code < 0) throw new VolumeError(engineError(line), "engine");
      const full = /no space left/i.test(stderr) ? " (the engine's disk is full)" : "";
      throw new VolumeError(`${args[0]} ${args[1] ?? ""} failed${full}: ${line}`, "setup");
    }
    return stdout;
  }

  const statePath = (name: string) => join(stateDir, `${name}.json`);
  function loadState(name: string): SyncState {
    try {
      const raw = JSON.parse(readFileSync(statePath(name), "utf8")) as unknown;
      return raw && typeof raw === "object" ? (raw as SyncState) : {};
    } catch {
      return {};
    }
  }
  function saveState(name: string, state: SyncState) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${statePath(name)}.${randomHex(4)}`;
    writeFileSync(tmp, JSON.stringify(state), { mode: 0o600, flag: "wx" });
    renameSync(tmp, statePath(name));
  }

  async function ensure(exec: VolumeRun, wanted: { name: string; folder?: string }[]) {
    for (const name of await backend.ensure(exec, wanted, instanceId)) {
      if (existsSync(statePath(name))) {
        log.warn("volume was missing and is created anew; host files are synced in again", { volume: name });
        rmSync(statePath(name), { force: true });
      }
    }
  }

  const helperArgs = (volume: string, target: string, mode: "put" | "get", user: string) =>
    backend.helperArgs({ volume, target, mode, user, image, instanceId, script: HELPER });

  const encode = (files: readonly SyncFile[]) =>
    files.map((f) => ({ path: f.path, b64: f.data.toString("base64") }));

  async function put(
    exec: VolumeRun,
    volume: string,
    target: string,
    user: string,
    job: { clear: boolean; remove: string[]; files: SyncFile[] },
  ) {
    await exec(
      helperArgs(volume, target, "put", user),
      JSON.stringify({ clear: job.clear, remove: job.remove, files: encode(job.files) }),
    );
  }

  /** A shared read-only volume replaced whole when its content changed. */
  async function syncShared(exec: VolumeRun, volume: string, target: string, files: SyncFile[]) {
    const last = loadState(volume);
    const plan = planIn(files, {});
    const same =
      Object.keys(last).length === Object.keys(plan.next).length &&
      Object.entries(plan.next).every(([p, h]) => last[p] === h);
    if (same && existsSync(statePath(volume))) return;
    await put(exec, volume, target, "0:0", { clear: true, remove: [], files });
    saveState(volume, plan.next);
  }

  function groupsView(): SyncFile[] {
    const out: SyncFile[] = [];
    let entries: string[] = [];
    try {
      entries = readdirSync(groupsDir);
    } catch {
      return out;
    }
    for (const folder of entries.sort()) {
      if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(folder)) continue;
      const dir = join(groupsDir, folder);
      if (!lstatSync(dir).isDirectory()) continue;
      for (const f of collectHostFiles(dir, 1)) out.push({ path: `${folder}/${f.path}`, data: f.data });
      if (out.length >= MAX_SYNC_FILES) break;
    }
    return out.slice(0, MAX_SYNC_FILES);
  }

  const agentUser = `${AGENT_UID}:${AGENT_UID}`;

  return {
    async prepare(folder, isMain, signal) {
      const exec: VolumeRun = (args, input, timeoutMs) => run(args, input, timeoutMs, signal);
      const names = volumeNames(instanceId, folder);
      // The shared volumes are checked and written by one run at a time.
      const sharedDone = shared.then(async () => {
        await ensure(exec, [
          { name: names.group, folder },
          { name: names.session, folder },
          { name: names.global },
          ...(isMain ? [{ name: names.groups }] : []),
        ]);
        await syncShared(
          exec,
          names.global,
          CONTAINER_PATHS.global,
          collectHostFiles(join(groupsDir, "global")),
        );
        if (isMain) {
          await syncShared(exec, names.groups, CONTAINER_PATHS.groups, groupsView());
        }
      });
      shared = sharedDone.catch(() => {});
      await sharedDone;
      const stateName = names.group;
      const plan = planIn(collectHostFiles(join(groupsDir, folder)), loadState(stateName));
      if (plan.put.length > 0 || plan.remove.length > 0) {
        await put(exec, names.group, CONTAINER_PATHS.group, agentUser, {
          clear: false,
          remove: plan.remove,
          files: plan.put,
        });
        log.info("host files synced into the group volume", {
          folder,
          put: plan.put.length,
          removed: plan.remove.length,
        });
      }
      saveState(stateName, plan.next);
      return names;
    },

    async collect(folder) {
      const names = volumeNames(instanceId, folder);
      const out = await run(helperArgs(names.group, CONTAINER_PATHS.group, "get", agentUser));
      let raw: unknown;
      try {
        raw = JSON.parse(out);
      } catch {
        throw new VolumeError("the sync helper printed no JSON", "setup");
      }
      const parsed = v.safeParse(Pulled, raw);
      if (!parsed.success) throw new VolumeError("the sync helper printed an unexpected list", "setup");
      const volumeFiles = parsed.output
        .filter((f) => isSyncPath(f.path))
        .map((f) => ({ path: f.path, data: Buffer.from(f.b64, "base64") }))
        .filter((f) => f.data.length <= MAX_SYNC_FILE_BYTES);
      const dir = join(groupsDir, folder);
      const plan = planOut(volumeFiles, collectHostFiles(dir), loadState(names.group));
      const at = clock();
      for (const p of plan.conflicts) {
        const src = join(dir, p);
        if (safeParent(dir, p)) renameSync(src, join(dir, conflictName(p, at)));
        log.warn(
          "memory file edited on the host and by the agent; the agent's copy wins, the host's is kept aside",
          {
            folder,
            path: p,
            keptAs: conflictName(p, at),
          },
        );
      }
      for (const f of plan.write) writeHostFile(dir, f);
      for (const p of plan.remove) if (safeParent(dir, p)) rmSync(join(dir, p), { force: true });
      saveState(names.group, plan.next);
      return { written: plan.write.length, removed: plan.remove.length, conflicts: plan.conflicts.length };
    },
  };
}

/** The parent directories of `rel` under `root` are real directories (never a symlink). */
function safeParent(root: string, rel: string): boolean {
  let dir = root;
  for (const part of rel.split("/").slice(0, -1)) {
    dir = join(dir, part);
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st) return false;
    if (!st.isDirectory()) return false;
  }
  return true;
}

/** Writes a file into the host folder without following a symlink: a temp file, then rename. */
function writeHostFile(root: string, f: SyncFile) {
  const full = join(root, f.path);
  const parent = dirname(full);
  let dir = root;
  for (const part of f.path.split("/").slice(0, -1)) {
    dir = join(dir, part);
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) rmSync(dir, { force: true });
    if (!st?.isDirectory()) mkdirSync(dir, { mode: 0o755 });
  }
  const tmp = join(parent, `.ngb-sync-${randomHex(6)}`);
  writeFileSync(tmp, f.data, { mode: 0o644, flag: "wx" });
  renameSync(tmp, full);
}
