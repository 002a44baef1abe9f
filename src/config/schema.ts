/**
 * The one config schema. Defaults live here; `load.ts` merges file < .env < environment < flags
 * into it and parses once at start. JSON Schema (`ngb config schema`) is generated from it.
 */
import * as v from "valibot";
import { CHANNEL_DEFINITIONS, channelSections } from "../channels/index.ts";

const Port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));
const PositiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const NonNegInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const Url = v.pipe(v.string(), v.url("must be a URL like https://host/path"));
const Secret = v.optional(v.string());

export const ContainerConfig = v.strictObject({
  /** Container CLI: docker or podman (any docker-compatible binary). */
  runtime: v.optional(v.string(), "docker"),
  image: v.optional(v.string(), "ngb-agent:latest"),
  /** Hard limit for one agent run. */
  timeoutMs: v.optional(PositiveInt, 30 * 60_000),
  /** A warm container with no new input for this long is closed. */
  idleTimeoutMs: v.optional(PositiveInt, 5 * 60_000),
  maxOutputBytes: v.optional(PositiveInt, 10 * 1024 * 1024),
  memory: v.optional(v.string(), "1g"),
  cpus: v.optional(v.string(), "1"),
  pidsLimit: v.optional(PositiveInt, 512),
  /** "none" keeps agents off the network except the credential proxy socket. */
  network: v.optional(v.string(), "none"),
  /**
   * Run as this uid:gid inside the container. Default: uid 10001 (never root, never the host's
   * uid) with gid 10001 when the host runs as root (the writable mounts are chowned to it), else
   * with the host's own gid (the writable mounts are group-writable, setgid).
   */
  user: v.optional(v.pipe(v.string(), v.regex(/^\d+(:\d+)?$/, "user must be a numeric uid or uid:gid"))),
  /** Read-only root filesystem (only the group folder, the session dir and tmpfs are writable). */
  readOnlyRoot: v.optional(v.boolean(), true),
  /** Size of the container's /tmp (tmpfs), e.g. "512m". */
  tmpSize: v.optional(v.pipe(v.string(), v.regex(/^\d+[kmg]?$/i, 'tmpSize must look like "512m"')), "512m"),
  /** Largest file an agent may write (RLIMIT_FSIZE), bytes. */
  maxFileBytes: v.optional(PositiveInt, 1024 * 1024 * 1024),
  /** Open files per container process (RLIMIT_NOFILE). */
  maxOpenFiles: v.optional(PositiveInt, 4096),
  /** A group folder over this many bytes is refused a new run until it shrinks (0: no limit). */
  maxGroupFolderBytes: v.optional(NonNegInt, 5 * 1024 * 1024 * 1024),
  /**
   * A run with a turn in progress that shows no progress (no output, no tool call) for this
   * long is stopped as stalled and not retried.
   */
  stallTimeoutMs: v.optional(PositiveInt, 10 * 60_000),
  /**
   * Let `network` (here or in a group's containerConfig) be "host" or join another container's
   * namespace ("container:<id>"): the agent then reaches every service on the host. Off by default.
   */
  allowHostNetwork: v.optional(v.boolean(), false),
  /**
   * How an agent reaches the host: "mounts" (bind mounts for the group folder and session, the
   * credential proxy's unix socket) needs an engine on this machine; "stdio" (model traffic as
   * frames on the container's stdio, the group folder and session in named volumes on the
   * engine, memory files synced in and out) works with a remote engine (DOCKER_HOST=ssh://…).
   */
  transport: v.optional(v.picklist(["mounts", "stdio"]), "mounts"),
  /**
   * `runtime: "kubernetes"`: each agent run is a pod in this cluster (through `kubectl`, so the
   * kubeconfig and its auth plugins apply). The stdio transport is implied: the group folder and
   * session are PersistentVolumeClaims, model traffic goes over the pod's attached stdio.
   */
  kubernetes: v.optional(
    v.strictObject({
      /** The kubectl binary. */
      kubectl: v.optional(v.string(), "kubectl"),
      /** kubeconfig context (default: the current one). */
      context: v.optional(v.string()),
      namespace: v.optional(
        v.pipe(v.string(), v.regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "namespace must be a DNS label")),
        "ngb",
      ),
      /** StorageClass of the volume claims (default: the cluster's default class). */
      storageClass: v.optional(v.string()),
      /** Size of each group's folder and session claim. */
      volumeSize: v.optional(
        v.pipe(v.string(), v.regex(/^\d+(Mi|Gi|Ti)$/, 'volumeSize must look like "1Gi"')),
        "1Gi",
      ),
      /**
       * Access mode of the shared claims (global memory, main's view of the groups), mounted by
       * many pods at once: ReadWriteOnce is enough on one node; several nodes need ReadWriteMany.
       */
      sharedAccessMode: v.optional(v.picklist(["ReadWriteOnce", "ReadWriteMany"]), "ReadWriteOnce"),
      /** How long a pod may stay Pending (no node, image pull, quota) before the run fails. */
      podStartTimeoutMs: v.optional(PositiveInt, 120_000),
    }),
    {},
  ),
  /** Host path of the mount allowlist. Default: $XDG_CONFIG_HOME/nanogridbot/mount-allowlist.json */
  mountAllowlistPath: v.optional(v.string()),
});
export type ContainerConfig = v.InferOutput<typeof ContainerConfig>;

/**
 * What one group may ask for. Task quotas bind non-main groups (the main group is the admin);
 * the daily token limit binds every group that has one.
 */
export const Quotas = v.strictObject({
  /** Most active or paused tasks one non-main group may have. */
  maxTasksPerGroup: v.optional(PositiveInt, 50),
  /** Longest prompt (characters) of a non-main group's task; any task is capped at 16,000. */
  maxPromptChars: v.optional(v.pipe(PositiveInt, v.maxValue(16_000)), 4_000),
  /** Shortest gap between runs of a non-main group's interval or cron task. */
  minIntervalMs: v.optional(PositiveInt, 5 * 60_000),
  /** The agent's list_tasks answer holds at most this many tasks… */
  listTasksMax: v.optional(PositiveInt, 100),
  /** …each prompt cut to this many characters. */
  listTasksPromptChars: v.optional(PositiveInt, 500),
  /**
   * Tokens (input + output + cache writes; cache reads are not counted) one group may use per
   * UTC day through the credential proxy. 0 = no limit.
   */
  dailyTokensPerGroup: v.optional(NonNegInt, 0),
  /** Per-group daily token limits by folder, overriding dailyTokensPerGroup (0 = no limit). */
  dailyTokensByGroup: v.optional(v.record(v.string(), NonNegInt), {}),
});
export type Quotas = v.InferOutput<typeof Quotas>;

export const Config = v.strictObject({
  assistantName: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64)), "Andy"),
  /** Regex source; default `^@<assistantName>\b` (case-insensitive). */
  triggerPattern: v.optional(v.string()),
  /** IANA time zone for schedules without one. Default: the host's. */
  timezone: v.optional(v.string()),
  dataDir: v.optional(v.string(), "data"),
  groupsDir: v.optional(v.string(), "groups"),
  storeDir: v.optional(v.string(), "store"),
  /** Pattern for the sqlite file name inside storeDir. */
  dbFile: v.optional(v.string(), "ngb.db"),
  maxConcurrentContainers: v.optional(PositiveInt, 4),
  /** Retries for a failed agent run before the error is reported to the chat. */
  maxRetries: v.optional(NonNegInt, 3),
  retryBaseMs: v.optional(PositiveInt, 5_000),
  /** Scheduler poll is timer-driven; this caps the longest sleep (safety net against clock jumps). */
  schedulerMaxSleepMs: v.optional(PositiveInt, 60_000),
  /** Ignored since IPC moved onto the container's stdio (kept so old config files still load). */
  ipcPollMs: v.optional(PositiveInt),
  /** Limits on what one group's agent may ask of the host through its tools. */
  ipc: v.optional(
    v.strictObject({
      /** IPC requests per group per minute (all kinds). */
      requestsPerMinute: v.optional(PositiveInt, 120),
      /** send_message requests per group per minute. */
      messagesPerMinute: v.optional(PositiveInt, 30),
    }),
    {},
  ),
  /** How replies are sent. */
  delivery: v.optional(
    v.strictObject({
      /**
       * A reply whose send was cut off by a crash (the platform may or may not have it): "skip"
       * marks it unknown and does not re-send (no duplicate, maybe one lost reply); "resend"
       * sends it again (no loss, maybe one duplicate). Channels whose platform de-duplicates
       * re-sends (Discord, WhatsApp, Feishu) always re-send safely.
       */
      unknownFate: v.optional(v.picklist(["skip", "resend"]), "skip"),
    }),
    {},
  ),
  container: v.optional(ContainerConfig, {}),
  quotas: v.optional(Quotas, {}),
  /** Release page `ngb upgrade` reads (GitHub's layout: <url>/latest/download/SHA256SUMS). */
  releaseUrl: v.optional(Url, "https://github.com/nanogridbot/nanogridbot/releases"),
  anthropic: v.optional(
    v.strictObject({
      apiKey: Secret,
      /** Alternative to apiKey: an OAuth token for Claude subscriptions. */
      authToken: Secret,
      baseUrl: v.optional(Url, "https://api.anthropic.com"),
      model: v.optional(v.string()),
    }),
    {},
  ),
  web: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      host: v.optional(v.string(), "127.0.0.1"),
      port: v.optional(Port, 3000),
      token: Secret,
      maxBodyBytes: v.optional(PositiveInt, 1024 * 1024),
      /** A dashboard session unused this long ends (log in again). */
      sessionIdleMs: v.optional(PositiveInt, 12 * 3600_000),
      /** A dashboard session ends this long after login, however busy. */
      sessionMaxAgeMs: v.optional(PositiveInt, 7 * 24 * 3600_000),
    }),
    {},
  ),
  log: v.optional(
    v.strictObject({
      level: v.optional(v.picklist(["silent", "error", "warn", "info", "debug", "trace"]), "info"),
      format: v.optional(v.picklist(["pretty", "json"]), "pretty"),
      file: v.optional(v.string()),
      maxFileBytes: v.optional(PositiveInt, 10 * 1024 * 1024),
      maxFiles: v.optional(PositiveInt, 5),
    }),
    {},
  ),
  plugins: v.optional(
    v.strictObject({
      /** External plugins: `.ts`/`.js` files or folders here load at start and reload on change. */
      dir: v.optional(v.string(), "plugins"),
      /** Built-ins to turn on (rate-limiter, auto-reply, mention, allowlist); external ones are on unless disabled. */
      enabled: v.optional(v.array(v.string()), []),
      /** Each plugin's config by plugin name, checked by the plugin's own schema. */
      config: v.optional(v.record(v.string(), v.unknown()), {}),
      /** Handler failures in a row before a plugin is disabled automatically. */
      maxFailures: v.optional(PositiveInt, 5),
      /** Reload external plugins when their files change. */
      watch: v.optional(v.boolean(), true),
    }),
    {},
  ),
  channels: v.optional(
    v.strictObject({
      /** The built-in web channel (webchat); not a platform, so not in the registry. */
      web: v.optional(v.strictObject({ enabled: v.optional(v.boolean(), true) }), {}),
      // One section per channel definition (src/channels/registry.ts), each with `enabled`.
      ...channelSections(CHANNEL_DEFINITIONS),
    }),
    {},
  ),
});
export type Config = v.InferOutput<typeof Config>;
export type ConfigInput = v.InferInput<typeof Config>;

/** Dotted paths whose values are secrets: redacted by `config show` and never logged. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  "anthropic.apiKey",
  "anthropic.authToken",
  "web.token",
  ...CHANNEL_DEFINITIONS.flatMap((d) => d.secretKeys.map((key) => `channels.${d.name}.${key}`)),
]);
